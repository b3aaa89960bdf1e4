"""Risk: decisions on an application, the review queue, scenarios and their thresholds, the blacklist."""
