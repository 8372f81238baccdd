"""Files out: calculation results, payout workbook, bank file, notice letters."""
