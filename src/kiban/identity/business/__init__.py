"""Business IDs (GビズID-like): prime, member and entry accounts tied to a 法人番号."""
