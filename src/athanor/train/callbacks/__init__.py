"""Callbacks: progress, early stopping, store logging."""

from athanor.train.callbacks.base import Callback, CallbackList
from athanor.train.callbacks.early_stopping import EarlyStopping
from athanor.train.callbacks.lr_monitor import LRMonitor
from athanor.train.callbacks.progress import ProgressBar
from athanor.train.callbacks.store_logger import StoreLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "LRMonitor", "ProgressBar", "StoreLogger"]
