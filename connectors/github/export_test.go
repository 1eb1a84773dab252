package github

// SetFindUnhintedLimit lowers how many issues FindByMarker reads without a
// time hint, so that tests need not create a thousand issues.
func SetFindUnhintedLimit(c *Connector, n int) { c.findLimit = n }
