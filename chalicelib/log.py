"""Structured JSON logging (Powertools Logger). Never log secrets, tokens, keys or bodies."""
from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="creditfirst")
