// Package dashboards builds the Grafana dashboards shipped with
// gateway-api-metrics-exporter. It only uses the standard library, so that
// the generator stays a tiny module.
package dashboards

// Grafana dashboard JSON model: only the fields these dashboards use. Field
// order in the structs is the order in the generated JSON.

type Dashboard struct {
	Annotations   Annotations `json:"annotations"`
	Description   string      `json:"description"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	Links         []Link      `json:"links"`
	Panels        []*Panel    `json:"panels"`
	Refresh       string      `json:"refresh"`
	SchemaVersion int         `json:"schemaVersion"`
	Tags          []string    `json:"tags"`
	Templating    Templating  `json:"templating"`
	Time          TimeRange   `json:"time"`
	Timezone      string      `json:"timezone"`
	Title         string      `json:"title"`
	UID           string      `json:"uid"`
	Version       int         `json:"version"`
}

type Annotations struct {
	List []any `json:"list"`
}

type Link struct {
	AsDropdown  bool     `json:"asDropdown"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
	Tags        []string `json:"tags"`
	TargetBlank bool     `json:"targetBlank"`
	Title       string   `json:"title"`
	Type        string   `json:"type"`
}

type Templating struct {
	List []Variable `json:"list"`
}

type Variable struct {
	Current    *struct{}   `json:"current,omitempty"`
	Datasource *Datasource `json:"datasource,omitempty"`
	IncludeAll bool        `json:"includeAll"`
	Label      string      `json:"label"`
	Multi      bool        `json:"multi"`
	Name       string      `json:"name"`
	Query      any         `json:"query"`
	Refresh    int         `json:"refresh,omitempty"`
	Regex      string      `json:"regex"`
	Sort       int         `json:"sort"`
	Type       string      `json:"type"`
}

type VariableQuery struct {
	Query string `json:"query"`
	RefID string `json:"refId"`
}

type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type Panel struct {
	Collapsed       *bool            `json:"collapsed,omitempty"`
	Datasource      *Datasource      `json:"datasource,omitempty"`
	Description     string           `json:"description,omitempty"`
	FieldConfig     *FieldConfig     `json:"fieldConfig,omitempty"`
	GridPos         GridPos          `json:"gridPos"`
	ID              int              `json:"id"`
	Options         map[string]any   `json:"options,omitempty"`
	Panels          []*Panel         `json:"panels,omitempty"`
	Targets         []Target         `json:"targets,omitempty"`
	Title           string           `json:"title"`
	Transformations []Transformation `json:"transformations,omitempty"`
	Type            string           `json:"type"`

	// layout hints, not serialised
	w, h int
}

type Target struct {
	Datasource   *Datasource `json:"datasource"`
	Expr         string      `json:"expr"`
	Format       string      `json:"format,omitempty"`
	Instant      bool        `json:"instant"`
	LegendFormat string      `json:"legendFormat,omitempty"`
	Range        bool        `json:"range"`
	RefID        string      `json:"refId"`
}

type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

type FieldDefaults struct {
	Color      *FieldColor    `json:"color,omitempty"`
	Custom     map[string]any `json:"custom,omitempty"`
	Mappings   []ValueMapping `json:"mappings"`
	Thresholds *Thresholds    `json:"thresholds,omitempty"`
	Unit       string         `json:"unit,omitempty"`
}

type FieldColor struct {
	Mode string `json:"mode"`
}

type Thresholds struct {
	Mode  string      `json:"mode"`
	Steps []Threshold `json:"steps"`
}

type Threshold struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

type ValueMapping struct {
	Options map[string]MappingResult `json:"options"`
	Type    string                   `json:"type"`
}

type MappingResult struct {
	Color string `json:"color,omitempty"`
	Index int    `json:"index"`
	Text  string `json:"text"`
}

type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

type Matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

type Transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

var datasource = &Datasource{Type: "prometheus", UID: "${datasource}"}

// board is a dashboard under construction: panels are laid out left to right,
// wrapping at Grafana's 24 columns.
type board struct {
	d       *Dashboard
	x, y, h int
	nextID  int
}

func newBoard(uid, title, description string) *board {
	return &board{
		d: &Dashboard{
			Annotations: Annotations{List: []any{}},
			Description: description,
			Editable:    true,
			Links: []Link{{
				IncludeVars: true,
				KeepTime:    true,
				Tags:        []string{"gateway-api-state"},
				Title:       "Gateway Dashboards",
				Type:        "dashboards",
			}},
			Panels:        []*Panel{},
			Refresh:       "1m",
			SchemaVersion: 39,
			Tags:          []string{"gateway-api", "gateway-api-state"},
			Templating: Templating{List: []Variable{{
				Current:    &struct{}{},
				IncludeAll: false,
				Label:      "Data Source",
				Name:       "datasource",
				Query:      "prometheus",
				Type:       "datasource",
			}}},
			Time:     TimeRange{From: "now-1h", To: "now"},
			Timezone: "utc",
			Title:    title,
			UID:      uid,
			Version:  1,
		},
		nextID: 1,
	}
}

// variable adds a multi-value "All"-capable query variable filled from
// label_values(<metric>, <label>), as the old dashboards did.
func (b *board) variable(name, label, query, regex string) {
	b.d.Templating.List = append(b.d.Templating.List, Variable{
		Current:    &struct{}{},
		Datasource: datasource,
		IncludeAll: true,
		Label:      label,
		Multi:      true,
		Name:       name,
		Query:      VariableQuery{Query: query, RefID: "StandardVariableQuery"},
		Refresh:    2,
		Regex:      regex,
		Sort:       1,
		Type:       "query",
	})
}

func (b *board) row(title string) {
	if b.x > 0 {
		b.y += b.h
	}
	b.x, b.h = 0, 0
	collapsed := false
	b.d.Panels = append(b.d.Panels, &Panel{
		Collapsed: &collapsed,
		GridPos:   GridPos{H: 1, W: 24, X: 0, Y: b.y},
		ID:        b.id(),
		Panels:    nil,
		Title:     title,
		Type:      "row",
	})
	b.y++
}

func (b *board) id() int {
	id := b.nextID
	b.nextID++
	return id
}

// add places p at the cursor, wrapping to a new line when it does not fit.
func (b *board) add(p *Panel) {
	if b.x+p.w > 24 {
		b.y += b.h
		b.x, b.h = 0, 0
	}
	p.GridPos = GridPos{H: p.h, W: p.w, X: b.x, Y: b.y}
	p.ID = b.id()
	b.x += p.w
	if p.h > b.h {
		b.h = p.h
	}
	if b.x >= 24 {
		b.y += b.h
		b.x, b.h = 0, 0
	}
	b.d.Panels = append(b.d.Panels, p)
}

func (b *board) dashboard() *Dashboard { return b.d }

func f(v float64) *float64 { return &v }

func instant(expr, format string) Target {
	return Target{Datasource: datasource, Expr: expr, Format: format, Instant: true, RefID: "A"}
}

func ranged(expr, legend string) Target {
	return Target{Datasource: datasource, Expr: expr, LegendFormat: legend, Range: true, RefID: "A"}
}

// stat is a single-number panel. bad marks counters where anything above
// zero is a problem (shown red); others are shown in the neutral blue.
func stat(title, description, expr string, bad bool) *Panel {
	steps := []Threshold{{Color: "blue"}}
	if bad {
		steps = []Threshold{{Color: "green"}, {Color: "red", Value: f(1)}}
	}
	return &Panel{
		Datasource:  datasource,
		Description: description,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Color:      &FieldColor{Mode: "thresholds"},
				Mappings:   []ValueMapping{},
				Thresholds: &Thresholds{Mode: "absolute", Steps: steps},
			},
			Overrides: []Override{},
		},
		Options: map[string]any{
			"colorMode":   "background",
			"graphMode":   "none",
			"justifyMode": "center",
			"orientation": "auto",
			"reduceOptions": map[string]any{
				"calcs":  []string{"lastNotNull"},
				"fields": "",
				"values": false,
			},
			"textMode": "value",
		},
		Targets: []Target{instant(expr, "")},
		Title:   title,
		Type:    "stat",
		w:       3, h: 4,
	}
}

// Label names that are noise in a table: scrape target labels and the
// constant customresource_group. Everything else (including labels a future
// exporter version adds) stays visible.
var hiddenColumns = []string{
	"Time", "__name__", "container", "customresource_group", "endpoint",
	"instance", "job", "pod", "prometheus", "service",
}

// Display names for label columns, shared by every table.
var columnNames = map[string]string{
	"allowed_routes_namespaces_from": "Allowed Routes From",
	"ancestor_group":                 "Ancestor Group",
	"ancestor_kind":                  "Ancestor Kind",
	"ancestor_name":                  "Ancestor",
	"ancestor_namespace":             "Ancestor Namespace",
	"ancestor_port":                  "Ancestor Port",
	"ancestor_section_name":          "Ancestor Section",
	"controller_name":                "Controller",
	"customresource_kind":            "Kind",
	"customresource_version":         "Version",
	"exported_namespace":             "Namespace (exported)",
	"gatewayclass_name":              "GatewayClass",
	"hostname":                       "Hostname",
	"listener_name":                  "Listener",
	"name":                           "Name",
	"namespace":                      "Namespace",
	"parent_group":                   "Parent Group",
	"parent_kind":                    "Parent Kind",
	"parent_name":                    "Parent",
	"parent_namespace":               "Parent Namespace",
	"parent_port":                    "Parent Port",
	"parent_section_name":            "Parent Section",
	"port":                           "Port",
	"protocol":                       "Protocol",
	"target_group":                   "Target Group",
	"target_kind":                    "Target Kind",
	"target_name":                    "Target",
	"tls_mode":                       "TLS Mode",
	"type":                           "Condition",
}

// column order: identity first, then relationships, then details.
var columnOrder = []string{
	"customresource_kind", "customresource_version", "namespace", "exported_namespace", "name",
	"gatewayclass_name", "listener_name", "hostname", "port", "protocol", "tls_mode",
	"allowed_routes_namespaces_from", "controller_name",
	"parent_group", "parent_kind", "parent_namespace", "parent_name", "parent_section_name", "parent_port",
	"ancestor_group", "ancestor_kind", "ancestor_namespace", "ancestor_name", "ancestor_section_name", "ancestor_port",
	"target_group", "target_kind", "target_name", "type", "Value",
}

type tableKind int

const (
	plainTable     tableKind = iota // Value hidden (info-style metrics)
	createdTable                    // Value is a creation timestamp
	countTable                      // Value is a number to show
	conditionTable                  // Value is a condition: 1 True, 0 False/Unknown
)

// table is an instant query shown as a table, one row per series.
func table(title, description, expr string, kind tableKind, valueName string) *Panel {
	exclude := map[string]bool{}
	for _, c := range hiddenColumns {
		exclude[c] = true
	}
	rename := map[string]string{}
	for k, v := range columnNames {
		rename[k] = v
	}
	index := map[string]int{}
	for i, c := range columnOrder {
		index[c] = i
	}
	var transformations []Transformation
	overrides := []Override{}
	mappings := []ValueMapping{}
	switch kind {
	case plainTable:
		exclude["Value"] = true
	case createdTable:
		transformations = append(transformations, Transformation{
			ID: "calculateField",
			Options: map[string]any{
				"alias": "Created At",
				"binary": map[string]any{
					"left": "Value", "operator": "*", "right": "1000",
				},
				"mode": "binary",
				"reduce": map[string]any{
					"reducer": "sum",
				},
				"replaceFields": false,
			},
		})
		exclude["Value"] = true
		index["Created At"] = len(columnOrder)
		overrides = append(overrides, Override{
			Matcher:    Matcher{ID: "byName", Options: "Created At"},
			Properties: []Property{{ID: "unit", Value: "dateTimeAsIso"}},
		})
	case countTable:
		rename["Value"] = valueName
	case conditionTable:
		rename["Value"] = valueName
		mappings = conditionMappings(false)
		overrides = append(overrides, Override{
			Matcher: Matcher{ID: "byName", Options: valueName},
			Properties: []Property{
				{ID: "custom.cellOptions", Value: map[string]any{"type": "color-background"}},
				{ID: "mappings", Value: mappings},
			},
		})
		mappings = []ValueMapping{}
	}
	transformations = append(transformations, Transformation{
		ID: "organize",
		Options: map[string]any{
			"excludeByName": exclude,
			"indexByName":   index,
			"renameByName":  rename,
		},
	})
	return &Panel{
		Datasource:  datasource,
		Description: description,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Custom:   map[string]any{"align": "auto", "filterable": true},
				Mappings: mappings,
			},
			Overrides: overrides,
		},
		Options: map[string]any{
			"cellHeight": "sm",
			"footer":     map[string]any{"show": false},
			"showHeader": true,
		},
		Targets:         []Target{instant(expr, "table")},
		Title:           title,
		Transformations: transformations,
		Type:            "table",
		w:               12, h: 8,
	}
}

// conditionMappings shows a condition value as True/False. For conditions
// of negative polarity (Conflicted, OverlappingTLSConfig) True is the bad one.
func conditionMappings(negative bool) []ValueMapping {
	good, bad := "green", "red"
	if negative {
		good, bad = bad, good
	}
	return []ValueMapping{{
		Type: "value",
		Options: map[string]MappingResult{
			"1": {Color: good, Index: 0, Text: "True"},
			"0": {Color: bad, Index: 1, Text: "False/Unknown"},
		},
	}}
}

// conditionMatrix shows one row per object (rowLabel, built with label_join
// in expr) and one column per condition type.
func conditionMatrix(title, description, expr, rowLabel, rowTitle string, negativeTypes ...string) *Panel {
	overrides := []Override{{
		Matcher:    Matcher{ID: "byName", Options: rowLabel + "\\type"},
		Properties: []Property{{ID: "displayName", Value: rowTitle}},
	}}
	for _, t := range negativeTypes {
		overrides = append(overrides, Override{
			Matcher:    Matcher{ID: "byName", Options: t},
			Properties: []Property{{ID: "mappings", Value: conditionMappings(true)}},
		})
	}
	return &Panel{
		Datasource:  datasource,
		Description: description,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Custom: map[string]any{
					"align":       "center",
					"cellOptions": map[string]any{"type": "color-background"},
					"filterable":  true,
				},
				Mappings: conditionMappings(false),
			},
			Overrides: overrides,
		},
		Options: map[string]any{
			"cellHeight": "sm",
			"footer":     map[string]any{"show": false},
			"showHeader": true,
		},
		Targets: []Target{instant(expr, "table")},
		Title:   title,
		Transformations: []Transformation{{
			ID: "groupingToMatrix",
			Options: map[string]any{
				"columnField": "type",
				"rowField":    rowLabel,
				"valueField":  "Value",
			},
		}},
		Type: "table",
		w:    24, h: 8,
	}
}

// groupedTable groups an instant table by the given fields and lists all
// values of another one (e.g. the supported features of a GatewayClass).
func groupedTable(title, description, expr, listField, listTitle string, groupBy ...string) *Panel {
	fields := map[string]any{
		listField: map[string]any{"aggregations": []string{"allValues"}, "operation": "aggregate"},
	}
	rename := map[string]string{listField + " (allValues)": listTitle}
	for _, g := range groupBy {
		fields[g] = map[string]any{"aggregations": []string{}, "operation": "groupby"}
		rename[g] = columnNames[g]
	}
	return &Panel{
		Datasource:  datasource,
		Description: description,
		FieldConfig: &FieldConfig{
			Defaults:  FieldDefaults{Custom: map[string]any{"align": "auto", "filterable": true}, Mappings: []ValueMapping{}},
			Overrides: []Override{},
		},
		Options: map[string]any{"cellHeight": "sm", "footer": map[string]any{"show": false}, "showHeader": true},
		Targets: []Target{instant(expr, "table")},
		Title:   title,
		Transformations: []Transformation{
			{ID: "groupBy", Options: map[string]any{"fields": fields}},
			{ID: "organize", Options: map[string]any{"excludeByName": map[string]bool{}, "indexByName": map[string]int{}, "renameByName": rename}},
		},
		Type: "table",
		w:    12, h: 8,
	}
}

// stateTimeline shows a 1/0 health series over time.
func stateTimeline(title, description, expr, legend, upText, downText string) *Panel {
	return &Panel{
		Datasource:  datasource,
		Description: description,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Color:  &FieldColor{Mode: "thresholds"},
				Custom: map[string]any{"fillOpacity": 80, "lineWidth": 0},
				Mappings: []ValueMapping{{
					Type: "value",
					Options: map[string]MappingResult{
						"1": {Color: "green", Index: 0, Text: upText},
						"0": {Color: "red", Index: 1, Text: downText},
					},
				}},
				Thresholds: &Thresholds{Mode: "absolute", Steps: []Threshold{{Color: "red"}, {Color: "green", Value: f(1)}}},
			},
			Overrides: []Override{},
		},
		Options: map[string]any{
			"alignValue":  "left",
			"legend":      map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": false},
			"mergeValues": true,
			"rowHeight":   0.9,
			"showValue":   "never",
			"tooltip":     map[string]any{"mode": "single", "sort": "none"},
		},
		Targets: []Target{ranged(expr, legend)},
		Title:   title,
		Type:    "state-timeline",
		w:       24, h: 8,
	}
}

// timeseries is a plain graph of a range query.
func timeseries(title, description, expr, legend, unit string) *Panel {
	return &Panel{
		Datasource:  datasource,
		Description: description,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Color:    &FieldColor{Mode: "palette-classic"},
				Custom:   map[string]any{"drawStyle": "line", "fillOpacity": 10, "lineWidth": 1, "showPoints": "never"},
				Mappings: []ValueMapping{},
				Unit:     unit,
			},
			Overrides: []Override{},
		},
		Options: map[string]any{
			"legend":  map[string]any{"calcs": []string{"lastNotNull", "max"}, "displayMode": "table", "placement": "right", "showLegend": true},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
		},
		Targets: []Target{ranged(expr, legend)},
		Title:   title,
		Type:    "timeseries",
		w:       12, h: 8,
	}
}

// linkColumn makes a table column a drill-down link to another dashboard.
func linkColumn(p *Panel, column, title, uid, slug, variable string) *Panel {
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, Override{
		Matcher: Matcher{ID: "byName", Options: column},
		Properties: []Property{{
			ID: "links",
			Value: []map[string]any{{
				"title": title,
				"url":   "/d/" + uid + "/" + slug + "?var-" + variable + "=${__value.text}&${datasource:queryparam}",
			}},
		}},
	})
	return p
}

// size overrides the default width and height of a panel.
func size(p *Panel, w, h int) *Panel {
	p.w, p.h = w, h
	return p
}
