"""Torch policies, the feature pipeline and PPO training (torch is imported only when used)."""
