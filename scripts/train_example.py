"""Train a context-aware (oracle) policy on the CartPole family and evaluate it on held-out tasks.

Usage: python scripts/train_example.py [RUN_DIR]   (about a minute on a laptop CPU)
"""

import sys

import numpy as np

from mtml_rl.training import Run, TrainConfig, train

out = sys.argv[1] if len(sys.argv) > 1 else "runs/example-cartpole-oracle"
config = TrainConfig(env="mtml/CartPole-v0", method="oracle", algo="ppo", timesteps=100_000, seed=0, out=out)
run = train(config, force=True)  # writes config, logs, checkpoints and the final model to `out`

run = Run.load(out)  # a finished run reloads with its normalization statistics
for split in ("train", "test-interpolation", "test-extrapolation"):
    returns = [episode.ret for episode in run.evaluate(split, episodes=2)]
    print(f"{split:20s} mean return {np.mean(returns):6.1f} over {len(returns)} episodes")
