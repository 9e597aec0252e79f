"""Language-model calls: the Anthropic client wrapper and the recommendations engine built on it."""
