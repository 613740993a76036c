"""Parameter optimisation and walk-forward analysis: search spaces, objectives and constraints,
Optuna studies in the run database, trials executed by `engine.simulate` on Dask workers, and the
overfitting statistics (deflated Sharpe ratio, probability of backtest overfitting)."""
