"""Hand-made similarity measures: pixel error, histograms, SSIM, FSIM, keypoints, SURF, hashes."""
