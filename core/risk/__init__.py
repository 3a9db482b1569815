"""Risk: pre-trade checks, rate budget, trading states, circuit breakers and the kill switch."""
