package policies

// Established is established, for the tests of the projection.
var Established = established
