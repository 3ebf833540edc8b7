"""Replay the Olist marketplace orders through the Tradewind API and report what happened."""
