"""Image similarity, hands-on: the tested library behind the course notebooks.

Images are NumPy arrays in RGB order (uint8 in [0, 255] or float in [0, 1]; gray is 2-D).
Every public function checks its input once and raises a typed error from
:mod:`imgsim_helpers.core.errors` that says what was expected and how to fix it.

The package is layered; each layer imports only the layers below it (import-linter checks this
in ``make test``)::

    lessons    experiment code for one notebook each (nothing in the library imports it)
    apps       the command line (imgsim), the web app, the retrieval benchmark
    scale      FAISS indexes and the Ray Data embedding pipeline
    registry   every similarity method by name, with its declared options
    metrics    pixel error, histograms, SSIM, FSIM, keypoints, SURF, perceptual hashes
    learned    CNN/CLIP embeddings, their weights, the Siamese head
    images     loading, conversions, transforms, the course images, figures
    core       typed errors, input checks, devices

The names below are loaded on first use, so ``import imgsim_helpers`` imports no submodule
(and neither torch nor OpenCV) until one is needed.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "images.data": [
        "course_gallery", "course_image", "course_path", "get_image", "list_course_images"
    ],
    "core.checks": ["check_image"],
    "core.device": ["resolve_device", "seed_everything"],
    "core.errors": [
        "CheckpointError", "DeviceUnavailableError", "DescriptorMismatchError", "EmptyImageError",
        "EmptyInputError", "ImageLoadError", "ImageNotFoundError", "ImageTooSmallError",
        "ImageTypeError", "ImgSimError", "InvalidImageError", "InvalidParameterError",
        "ShapeMismatchError", "UnknownMethodError", "WeightsUnavailableError", "expect_error"
    ],
    "metrics.histograms": [
        "HISTOGRAM_METHODS", "color_histogram", "compare_histograms", "histogram_similarity",
        "pairwise_histogram_similarity"
    ],
    "images.io": [
        "align_pair", "composite_alpha", "fit_within", "load_image", "resize", "to_float",
        "to_gray", "to_rgb", "to_uint8"
    ],
    "images.transforms": ["TRANSFORMS", "apply_transform"],
    "registry": ["METHOD_NAMES", "build_method", "similarity"],
    "metrics.keypoints": [
        "Features", "compare_features", "detect_and_describe", "keypoint_similarity",
        "match_descriptors", "verify_matches"
    ],
    "metrics.surf_detector": ["integral_image", "surf"],
    "learned.embeddings": [
        "cosine_similarity_matrix", "embed_images", "embed_texts", "load_clip", "load_cnn",
        "load_sentence_clip", "top_k"
    ],
    "metrics.pixel_error": ["mse", "psnr"],
    "metrics.structural_similarity": ["ms_ssim", "ssim", "ssim_components", "ssim_window"],
    "metrics.feature_similarity": [
        "FSIMFeatures", "FSIMResult", "fsim", "fsim_compare", "fsim_features",
        "fsim_phasepack_recipe", "gradient_magnitude"
    ],
    "metrics.log_gabor": ["phase_congruency"],
    "metrics.hashing": ["hamming_distance", "hash_similarity", "image_hash"],
    "scale.index": ["VectorIndex", "build_hash_index", "build_index", "load_index"],
    "scale.pipeline": ["embed_folder", "load_embeddings"],
    "learned.siamese": [
        "EmbeddingHead", "EmbeddingNet", "roc_auc", "train_siamese", "triplet_loss",
        "contrastive_loss"
    ],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'imgsim_helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"imgsim_helpers.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
