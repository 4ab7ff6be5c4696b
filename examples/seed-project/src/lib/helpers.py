"""Terrain statistics over a generated elevation grid (a stand-in for a real DEM tile)."""

import numpy as np


def synthetic_dem(size: int, seed: int, cell_m: float = 30.0) -> np.ndarray:
    """A size x size elevation grid in metres: a few Gaussian hills on a tilted plane, plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] * cell_m
    dem = 200.0 + 0.01 * x + 0.02 * y
    for _ in range(5):
        cx, cy = rng.uniform(0, size * cell_m, 2)
        height, width = rng.uniform(50, 400), rng.uniform(3, 12) * cell_m
        dem += height * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    return dem + rng.normal(0, 1.0, dem.shape)


def slope_degrees(dem: np.ndarray, cell_m: float = 30.0) -> np.ndarray:
    dz_dy, dz_dx = np.gradient(dem, cell_m)
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))


def terrain_stats(dem: np.ndarray, cell_m: float = 30.0, steep_deg: float = 15.0) -> dict:
    slope = slope_degrees(dem, cell_m)
    return {
        "cells": int(dem.size),
        "elevation_m": {"min": round(float(dem.min()), 2), "mean": round(float(dem.mean()), 2),
                        "max": round(float(dem.max()), 2)},
        "slope_deg": {"mean": round(float(slope.mean()), 3), "p95": round(float(np.percentile(slope, 95)), 3)},
        "steep_fraction": round(float((slope > steep_deg).mean()), 4),
    }
