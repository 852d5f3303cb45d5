"""Text primitives: token counting, sentence splitting and chunking with exact character offsets."""
