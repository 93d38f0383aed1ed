"""Exchanges behind one interface (`base.Exchange`): the simulator (`sim`), Binance (`binance/`)."""
