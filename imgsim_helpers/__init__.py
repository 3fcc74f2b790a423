"""Image similarity, hands-on: the tested helpers behind the course notebooks.

Images are NumPy arrays in RGB order (uint8 in [0, 255] or float in [0, 1];
gray is 2-D). Every public function validates its input and raises a typed
error from :mod:`imgsim_helpers.errors` that says how to fix the problem.

Top-level names are loaded on first use, so ``import imgsim_helpers`` stays
fast and does not import torch until an embedding function is needed.
"""

from __future__ import annotations

import importlib
import warnings as _warnings

# phasepack warns on import that pyfftw is missing; NumPy's FFT is what we use anyway.
_warnings.filterwarnings("ignore", message="(?s).*pyfftw")

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "claims": ["ClaimRecorder", "load_claims", "smoke_default"],
    "data": ["course_gallery", "course_image", "course_path", "get_image", "list_course_images"],
    "device": ["resolve_device", "seed_everything"],
    "errors": [
        "CheckpointError",
        "DeviceUnavailableError",
        "DescriptorMismatchError",
        "EmptyImageError",
        "EmptyInputError",
        "ImageLoadError",
        "ImageNotFoundError",
        "ImageTooSmallError",
        "ImageTypeError",
        "ImgSimError",
        "InvalidImageError",
        "InvalidParameterError",
        "ShapeMismatchError",
        "UnknownMethodError",
        "WeightsUnavailableError",
        "expect_error",
    ],
    "histograms": [
        "HISTOGRAM_METHODS",
        "color_histogram",
        "compare_histograms",
        "histogram_similarity",
        "pairwise_histogram_similarity",
    ],
    "io": [
        "align_pair",
        "composite_alpha",
        "fit_within",
        "load_image",
        "resize",
        "to_float",
        "to_gray",
        "to_rgb",
        "to_uint8",
        "validate_image",
    ],
    "transforms": ["TRANSFORMS", "apply_transform"],
    "methods": ["METHOD_NAMES", "build_method", "similarity"],
    "keypoints": [
        "Features",
        "compare_features",
        "detect_and_describe",
        "keypoint_similarity",
        "match_descriptors",
        "matching_score",
        "repeatability",
        "verify_matches",
    ],
    "surf": ["integral_image", "surf"],
    "embeddings": [
        "cosine_similarity_matrix",
        "embed_images",
        "embed_texts",
        "load_clip",
        "load_cnn",
        "load_sentence_clip",
        "top_k",
    ],
    "pixel_error": ["mse", "psnr"],
    "ssim": ["ms_ssim", "ssim", "ssim_components", "ssim_window"],
    "fsim": ["FSIMFeatures", "FSIMResult", "fsim", "fsim_compare", "fsim_features", "fsim_phasepack_recipe",
             "gradient_magnitude"],
    "phase_congruency": ["phase_congruency"],
    "siamese": [
        "EmbeddingHead",
        "EmbeddingNet",
        "equal_error_rate",
        "n_way_one_shot_accuracy",
        "roc_auc",
        "train_siamese",
        "triplet_loss",
        "contrastive_loss",
    ],
    "glyphs": ["make_glyph_set", "split_classes"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


# Four modules share their name with their main function. Importing a submodule rebinds the
# package attribute to the module, so bind the functions now: ``h.ssim(a, b)`` then works
# whatever the user imported before (these modules need only NumPy, SciPy and OpenCV).
from .fsim import fsim as fsim  # noqa: E402
from .phase_congruency import phase_congruency as phase_congruency  # noqa: E402
from .ssim import ssim as ssim  # noqa: E402
from .surf import surf as surf  # noqa: E402


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'imgsim_helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
