package config

import "github.com/bourse-exchange/bourse/internal/wire"

// Wire returns what the JSON encodings need to know of the asset.
func (a *Asset) Wire() wire.Asset {
	return wire.Asset{Name: a.Name, Save: a.PrecSave, Show: a.Show()}
}

// Wire returns what the JSON encodings need to know of the market; its
// assets must be resolved (as Load does).
func (m *Market) Wire() wire.Market {
	return wire.Market{
		Name: m.Name, Stock: m.Stock, Money: m.Money,
		StockPrec: m.StockPrec, MoneyPrec: m.MoneyPrec, FeePrec: m.Fee,
		StockSave: m.StockAsset.PrecSave, MoneySave: m.MoneyAsset.PrecSave,
	}
}
