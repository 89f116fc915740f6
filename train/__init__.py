"""LoRA SFT of the student on an exported trace set."""
