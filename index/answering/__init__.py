"""From passages to an answer: candidate sentences, quote ranking, verification, abstention, summaries."""
