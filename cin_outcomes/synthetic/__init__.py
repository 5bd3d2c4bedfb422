"""A seeded synthetic England: children, schools, social care and pupil records in the real return formats."""
