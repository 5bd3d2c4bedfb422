"""Writers of the synthetic returns and pupil modules in their real formats."""
