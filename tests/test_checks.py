"""core.checks, the one input-checking vocabulary: what each check accepts, and what its errors say."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgsim_helpers.core.checks import (
    check_choice,
    check_flag,
    check_image,
    check_instance,
    check_int,
    check_pixel_pair,
    check_real,
    check_same_shape,
    check_seed,
    check_unit_range,
    value_range,
)
from imgsim_helpers.core.errors import (
    ImageTypeError,
    InvalidImageError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)

# ----------------------------------------------------------------------------- integers


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), 10**30])
def test_check_int_accepts_integers_and_returns_a_python_int(value):
    out = check_int(value, "win_size", low=3)
    assert out == value and type(out) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, np.float64(3), "3", None, [3], Fraction(3)])
def test_check_int_refuses_what_is_not_an_integer(value):
    with pytest.raises(InvalidParameterError, match=r"^win_size must be an integer; got "):
        check_int(value, "win_size")


@pytest.mark.parametrize(
    ("value", "low", "high", "bound"),
    [(2, 3, None, ">= 3"), (12, None, 11, "<= 11"), (0, 1, 9, r"in \[1, 9\]"), (10, 1, 9, r"in \[1, 9\]")],
)
def test_check_int_message_names_option_bound_and_value(value, low, high, bound):
    with pytest.raises(InvalidParameterError, match=rf"^win_size must be an integer {bound}; got {value}$"):
        check_int(value, "win_size", low=low, high=high)


def test_check_int_bounds_are_inclusive_and_the_hint_is_appended():
    assert check_int(3, "n", low=3, high=3) == 3
    with pytest.raises(InvalidParameterError, match=r"got -1 \(pixels\)$"):
        check_int(-1, "n", low=0, hint="pixels")


# ----------------------------------------------------------------------------- reals


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.int64(1), Fraction(1, 2)])
def test_check_real_accepts_finite_numbers_and_returns_a_float(value):
    out = check_real(value, "alpha", low=0, high=1)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan"), True, "0.5", None, 1j])
def test_check_real_refuses_nan_inf_bool_and_non_numbers(value):
    with pytest.raises(InvalidParameterError, match=r"^alpha must be a finite number; got "):
        check_real(value, "alpha")


@pytest.mark.parametrize(
    ("value", "kwargs", "bound"),
    [
        (-0.1, {"low": 0, "high": 1}, r"in \[0, 1\]"),
        (1.5, {"low": 0, "high": 1}, r"in \[0, 1\]"),
        (0, {"low": 0, "low_open": True}, "> 0"),
        (0, {"low": 0, "high": 2.5, "low_open": True}, r"in \(0, 2.5\]"),
        (0.05, {"low": 0.1}, ">= 0.1"),
        (3, {"high": 2}, "<= 2"),
    ],
)
def test_check_real_message_names_option_bound_and_value(value, kwargs, bound):
    with pytest.raises(InvalidParameterError, match=rf"^sigma must be a finite number {bound}; got {value}"):
        check_real(value, "sigma", **kwargs)


def test_check_real_closed_and_open_lower_bound():
    assert check_real(0, "x", low=0) == 0.0
    assert check_real(1e-300, "x", low=0, low_open=True) == 1e-300


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_real_accepts_exactly_the_finite_floats_in_range(value):
    if math.isfinite(value) and -1 <= value <= 1:
        assert check_real(value, "x", low=-1, high=1) == value
    else:
        with pytest.raises(InvalidParameterError):
            check_real(value, "x", low=-1, high=1)


# ----------------------------------------------------------------------------- seeds, flags, choices


@pytest.mark.parametrize("seed", [0, 7, np.uint64(2**64 - 1), 2**64 - 1])
def test_check_seed_accepts_what_numpy_and_torch_take(seed):
    assert check_seed(seed) == int(seed)
    np.random.default_rng(check_seed(seed))


@pytest.mark.parametrize("seed", [-1, 2**64, 1.0, True, "0", None])
def test_check_seed_refuses_the_rest_and_says_the_range(seed):
    with pytest.raises(InvalidParameterError, match=r"^seed must be an integer in \[0, 2\*\*64 - 1\]; got "):
        check_seed(seed)


def test_check_seed_uses_the_given_name():
    with pytest.raises(InvalidParameterError, match="^split_seed must"):
        check_seed(-1, "split_seed")


@pytest.mark.parametrize("value", [True, False, np.bool_(False)])
def test_check_flag_accepts_booleans(value):
    assert check_flag(value, "normalize") is bool(value)


@pytest.mark.parametrize("value", [0, 1, "no", "True", None, np.array([True])])
def test_check_flag_refuses_what_only_looks_like_a_boolean(value):
    with pytest.raises(InvalidParameterError, match=r"^normalize must be True or False; got "):
        check_flag(value, "normalize")


def test_check_choice_returns_a_known_name():
    assert check_choice("uniform", "window", ("gaussian", "uniform")) == "uniform"
    assert check_choice("b", "letter", iter("abc")) == "b"  # any iterable of names


@pytest.mark.parametrize("value", ["Gaussian", "gauss", "", None, 3, ["gaussian"]])
def test_check_choice_error_names_the_option_the_value_and_the_choices(value):
    with pytest.raises(UnknownMethodError) as caught:
        check_choice(value, "window", ("gaussian", "uniform"))
    assert str(caught.value) == f"unknown window {value!r}; choose one of: gaussian, uniform"
    assert isinstance(caught.value, InvalidParameterError)
    assert caught.value.known == ("gaussian", "uniform") and caught.value.given == value


# ----------------------------------------------------------------------------- images


def test_check_image_converts_to_what_the_code_computes_with():
    assert check_image(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5)
    assert check_image(np.zeros((4, 5), np.float16)).dtype == np.float32
    assert check_image(np.zeros((4, 5), ">u2")).dtype.isnative
    image = np.zeros((4, 5, 3), np.uint8)
    assert check_image(image) is image  # a valid native array is not copied


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (np.zeros((4, 4), np.int32), ImageTypeError, "img has dtype int32"),
        ([[0, 1]], ImageTypeError, "img must be a NumPy array; got list"),
        (np.zeros((4, 4, 2)), InvalidImageError, r"img has shape \(4, 4, 2\)"),
        (np.full((4, 4), np.inf), InvalidImageError, "img contains NaN or infinite"),
    ],
)
def test_check_image_errors_name_the_argument(bad, error, message):
    with pytest.raises(error, match=message):
        check_image(bad, name="img")


def test_check_unit_range_only_concerns_floats():
    assert check_unit_range(np.full((2, 2), 255, np.uint8)).max() == 255
    with pytest.raises(InvalidImageError, match=r"^b is float with values in \[0, 2\].*divide by 255"):
        check_unit_range(np.array([[0.0, 2.0]]), name="b")


def test_pairs_and_shapes():
    a, b = check_pixel_pair(np.zeros((4, 4)), np.ones((4, 4)), metric="mse")
    assert a.shape == b.shape == (4, 4)
    with pytest.raises(InvalidImageError, match="image2 is RGBA.*mse"):
        check_pixel_pair(np.zeros((4, 4, 3)), np.zeros((4, 4, 4)), metric="mse")
    with pytest.raises(ShapeMismatchError, match=r"\(4, 4\) and \(4, 4, 3\).*to_gray"):
        check_same_shape(np.zeros((4, 4)), np.zeros((4, 4, 3)))


def test_value_range_of_each_dtype():
    assert [value_range(np.zeros(1, t)) for t in (np.uint8, np.uint16, np.float32, np.bool_)] == [255, 65535, 1, 1]


def test_check_instance_names_the_function_that_makes_the_object():
    class Features:
        pass

    features = Features()
    assert check_instance(features, "features1", Features, "detect_and_describe") is features
    with pytest.raises(InvalidParameterError, match=r"features1 must be the Features that detect_and_describe "
                                                     r"returns; got ndarray"):
        check_instance(np.zeros(3), "features1", Features, "detect_and_describe")
