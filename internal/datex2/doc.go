// Package datex2 publishes the road weather stations in DATEX II version 3
// (modelBaseVersion 3, the 3.x schemas of the roadTrafficData, common and
// locationReferencing namespaces): the static MeasurementSiteTablePublication
// (a measurement site per road site, with its position and the three
// measurement characteristics it reports) and the MeasuredDataPublication
// of the latest values: road surface temperature, water film thickness and
// the surface condition (RoadSurfaceConditionInformation), air temperature
// and dew point (TemperatureInformation) and relative humidity
// (HumidityInformation). Each publication is a d2:payload element with
// its xsi:type, as national access points exchange them.
package datex2
