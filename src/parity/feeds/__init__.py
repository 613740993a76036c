"""Historical and live bar sources, validation, and the fast Backtrader feed."""
