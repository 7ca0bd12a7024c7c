"""Cards: a guideline decision rendered as CDS Hooks cards (pure), card options and the card language."""
