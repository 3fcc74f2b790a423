"""Typed errors used across the package, and a context manager to show them.

Every error subclasses :class:`ImgSimError` and the built-in exception a caller would
naturally catch (``ValueError``, ``TypeError``, ``FileNotFoundError`` ...), so
``except ValueError`` keeps working. Messages say what was expected, what was given and
how to fix it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator


class ImgSimError(Exception):
    """Base class of every error raised on purpose by ``imgsim_helpers``."""


class ImageNotFoundError(ImgSimError, FileNotFoundError):
    """An image path does not exist."""


class ImageLoadError(ImgSimError, ValueError):
    """A path exists but is not a readable image (directory, empty, not an image, truncated)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot load image {self.path!r}: {reason}")


class InvalidImageError(ImgSimError, ValueError):
    """An array is not a valid image (shape, size, NaN/inf, value range)."""


class ImageTypeError(ImgSimError, TypeError):
    """An image has the wrong Python type or dtype."""


class EmptyImageError(InvalidImageError):
    """An image has zero rows or columns."""


class ImageTooSmallError(InvalidImageError):
    """An image is smaller than an operation needs (a filter window, a pyramid)."""


class ShapeMismatchError(InvalidImageError):
    """Two images that must have the same shape do not."""


class InvalidParameterError(ImgSimError, ValueError):
    """A keyword option has a value outside what the function accepts."""


class UnknownMethodError(InvalidParameterError):
    """A method, space, policy or model name is not one of the known names."""

    def __init__(self, kind: str, given, known: Iterable[str]):
        self.kind = kind
        self.given = given
        self.known = tuple(known)
        super().__init__(f"unknown {kind} {given!r}; choose one of: {', '.join(self.known)}")


class UnknownOptionError(InvalidParameterError):
    """A keyword option that a method does not take (usually a typo), named with the valid ones."""

    def __init__(self, owner: str, given: Iterable[str], valid: Iterable[str]):
        self.owner, self.given, self.valid = owner, tuple(given), tuple(valid)
        super().__init__(f"{owner} takes no option {', '.join(map(repr, self.given))}; "
                         f"its options are: {', '.join(self.valid) or 'none'}")


class DescriptorMismatchError(InvalidParameterError):
    """Two descriptor sets cannot be compared (different length or kind), or one is malformed."""


class EmptyInputError(InvalidParameterError):
    """A list or gallery that must hold at least one item is empty."""


class EmbeddingMismatchError(DescriptorMismatchError):
    """Vectors from another method or of another dimension than the index or table they meet."""


class IndexNotFoundError(ImgSimError, FileNotFoundError):
    """A saved index folder (or its manifest or index file) does not exist."""


class IndexFormatError(ImgSimError, ValueError):
    """A saved index or an embeddings table is not in the format this package writes."""


class DeviceUnavailableError(ImgSimError, RuntimeError):
    """A compute device was asked for but is not available here."""


class WeightsUnavailableError(ImgSimError, RuntimeError):
    """Pretrained weights are neither cached nor downloadable (for example offline)."""


class CheckpointError(ImgSimError, ValueError):
    """A weights file exists but is corrupt or does not fit the model."""


class ExpectedErrorNotRaised(ImgSimError, AssertionError):
    """``expect_error`` was used around code that did not fail."""


def unknown_name(kind: str, given, known: Iterable[str]) -> UnknownMethodError:
    """Build the error for a name that is not among ``known`` (for ``raise``)."""
    return UnknownMethodError(kind, given, known)


class _Caught:
    """What :func:`expect_error` caught (``error``, ``message``), readable after the block."""

    error: BaseException | None = None

    @property
    def message(self) -> str:
        return "" if self.error is None else str(self.error)


@contextlib.contextmanager
def expect_error(*error_types: type[BaseException], show: bool = True) -> Iterator[_Caught]:
    """Run a block that is meant to fail and print ``TypeName: message`` instead of raising.

    Notebooks demonstrate errors with it and still run top to bottom. Other exception types
    propagate; a block that does not fail raises :class:`ExpectedErrorNotRaised`, since the
    demonstration would then show something false.

    >>> with expect_error(ZeroDivisionError) as caught:
    ...     1 / 0
    ZeroDivisionError: division by zero
    """
    types = error_types or (Exception,)
    caught = _Caught()
    try:
        yield caught
    except types as error:  # noqa: B030 - a tuple of exception types
        caught.error = error
        if show:
            print(f"{type(error).__name__}: {error}")
        return
    names = ", ".join(t.__name__ for t in types)
    raise ExpectedErrorNotRaised(f"the block was expected to raise {names} but finished normally")
