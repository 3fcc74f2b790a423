"""Building blocks: loading and converting images, transforms, the course images, figures."""
