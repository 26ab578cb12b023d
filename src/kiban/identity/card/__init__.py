"""The virtual card (a key pair and its certificates) and cross-device card sign-in."""
