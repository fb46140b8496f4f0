"""Optimizer state: low precision and compensation; torch.optim checkpoints in and out."""
