// Package fixed is Bourse's exact fixed-point arithmetic.
//
// Inside the core every quantity is an unsigned integer count of units of
// 10^-scale, where the scale is fixed by configuration: order amounts at the
// market's stock_prec, prices at money_prec, fee rates at fee_prec, balances at
// the asset's prec_save. Amounts and prices fit in int64; products (price ×
// amount, fees) and balances are uint256 values (github.com/holiman/uint256),
// wide enough that no sum or product of bounded inputs can wrap.
//
// Decimals exist only at the edges: Parse turns a wire string into units,
// truncating toward zero (ROUND_DOWN) exactly as viabtc does, and Format turns
// units back into a plain decimal string with trailing zeros stripped
// (docs/protocol.md D2). The package is pure: no I/O, no clock, no globals that
// change after init.
package fixed
