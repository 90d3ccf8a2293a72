"""Operator commands: migrate, partitions, checkpoint, replay, verify."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    del sub
