"""Fitting the labeler to a team's own camera: keyframe cross-validation, calibration, adapt_labeler."""
