"""Grading a class: many submissions of one lab, confined, scored, written to a gradebook."""
