"""Callbacks: progress, early stopping, store logging."""

from athanor.training.callbacks.base import Callback, CallbackList
from athanor.training.callbacks.early_stopping import EarlyStopping
from athanor.training.callbacks.lr_monitor import LRMonitor
from athanor.training.callbacks.progress import ProgressBar
from athanor.training.callbacks.store_logger import StoreLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "LRMonitor", "ProgressBar", "StoreLogger"]
