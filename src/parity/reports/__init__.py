"""Human-facing run reports (QuantStats HTML tearsheets)."""
