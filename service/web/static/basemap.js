/* Offline base map: a hand-simplified sketch of the Oss / Maasland area (WGS84 lat, lon).
   Coarse on purpose: it orients a crisis room ("north of Berghem, by the Maas"), it is not
   a survey map. Regions elsewhere get the graticule and their NSPs; add their own sketch here
   (same shape) to get rivers, roads and place names too. */
"use strict";
window.NOODNET_BASEMAP = {
  name: "Oss / Maasland (vereenvoudigd)",
  bounds: { south: 51.69, west: 5.33, north: 51.84, east: 5.75 },
  areas: [
    {
      name: "Gemeente Oss",
      points: [
        [51.833, 5.47], [51.832, 5.53], [51.826, 5.58], [51.812, 5.625], [51.805, 5.665],
        [51.789, 5.695], [51.768, 5.705], [51.748, 5.672], [51.728, 5.638], [51.712, 5.595],
        [51.708, 5.545], [51.716, 5.49], [51.727, 5.445], [51.747, 5.40], [51.772, 5.372],
        [51.795, 5.372], [51.812, 5.398], [51.824, 5.43],
      ],
    },
  ],
  rivers: [
    {
      name: "Maas",
      label_at: [51.829, 5.50],
      points: [
        [51.757, 5.745], [51.770, 5.712], [51.786, 5.680], [51.798, 5.655], [51.806, 5.628],
        [51.815, 5.600], [51.823, 5.570], [51.830, 5.535], [51.830, 5.505], [51.823, 5.476],
        [51.812, 5.452], [51.806, 5.430], [51.802, 5.400], [51.795, 5.372], [51.783, 5.347],
        [51.768, 5.330],
      ],
    },
  ],
  roads: [
    {
      name: "A59",
      label_at: [51.742, 5.455],
      points: [
        [51.712, 5.335], [51.722, 5.380], [51.734, 5.425], [51.745, 5.465], [51.752, 5.500],
        [51.757, 5.540], [51.765, 5.585], [51.778, 5.625], [51.791, 5.655], [51.800, 5.682],
      ],
    },
    {
      name: "A50",
      label_at: [51.735, 5.602],
      points: [
        [51.806, 5.664], [51.789, 5.638], [51.772, 5.612], [51.752, 5.603], [51.730, 5.598],
        [51.708, 5.601], [51.695, 5.605],
      ],
    },
  ],
  places: [
    { name: "Oss", lat: 51.7650, lon: 5.5180, size: 1.4 },
    { name: "Berghem", lat: 51.7700, lon: 5.5700 },
    { name: "Ravenstein", lat: 51.7965, lon: 5.6500 },
    { name: "Lith", lat: 51.8050, lon: 5.4400 },
    { name: "Heesch", lat: 51.7330, lon: 5.5270 },
    { name: "Geffen", lat: 51.7410, lon: 5.4620 },
    { name: "Megen", lat: 51.8220, lon: 5.5650 },
    { name: "Macharen", lat: 51.7960, lon: 5.5960 },
    { name: "Herpen", lat: 51.7720, lon: 5.6420 },
    { name: "Nistelrode", lat: 51.7040, lon: 5.5620 },
    { name: "Maren-Kessel", lat: 51.8000, lon: 5.3870 },
    { name: "Grave", lat: 51.7590, lon: 5.7380 },
    { name: "Rosmalen", lat: 51.7160, lon: 5.3650 },
  ],
};
