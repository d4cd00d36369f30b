// Package energy computes the energy report of public buildings from
// cumulative meter readings: consumption per meter, site and medium
// (electricity, heat, gas, water) per day, month or year, comparisons with
// the previous period and the same period last year, weather-normalised
// heating energy, Kennwerte per m2 and year, CO2, costs, night and weekend
// base load, water leak months and a ranking of sites.
//
// Method (the report prints it too):
//
//   - Readings come from a Source (the local store or InfluxDB through
//     RangeSource). Each meter's readings become a corrected cumulative
//     curve: differences of consecutive readings, where a fall below the
//     previous value is a register rollover (digits configured and the
//     wrapped difference below half the register), noise (within
//     drop_tolerance, ignored) or a meter replacement (configured with its
//     final and initial readings, else detected and the interval estimated
//     at the last measured rate). Readings implying more than
//     max_rate_per_hour (Qmax) are rejected. Pulse counters are scaled by
//     pulse_weight. Consumptions of different meters are never subtracted
//     from each other.
//   - The consumption of any interval is the difference of the curve
//     interpolated linearly at its ends; inside a gap, heat and gas meters
//     of a site with a temperature sensor are interpolated by degree days
//     (the hot-water share by time). A value is flagged as estimated
//     when an end lies in a gap (longer than max_gap, default 2.5 times the
//     meter's median reading interval) or outside the readings, or a
//     replacement was detected inside. A gap wholly inside an interval
//     leaves its total exact.
//   - Gas: kWh = m3 * Z * Hs (DVGW G 685), per site.
//   - Heating energy (heat + gas kWh) is normalised with G20/15 from a site
//     temperature sensor (daily means of days with readings in >= 18
//     hours) or configured monthly figures: E_norm = E(1-a) G_ref/G + E a,
//     a = hot-water share. G_ref is reference_degree_days (default 3666.8
//     Kd/a, Potsdam TRY 2011, the reference of the DWD Klimafaktoren) times
//     the VDI 2067 / DIN 4713 monthly shares of the period.
//   - Kennwerte: kWh/(m2 a) on BGF and NRF; heating uses the normalised
//     energy divided by the reference share of the period, electricity and
//     water the period's length in years.
//   - CO2 and costs are computed per calendar year within the period, with
//     that year's emission factor (DefaultEmissionFactors unless
//     configured) and tariff (energy price plus base fee prorated by days).
package energy
