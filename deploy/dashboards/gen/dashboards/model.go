// Copyright The gateway-api-metrics-exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package dashboards builds the Grafana dashboards shipped with
// gateway-api-metrics-exporter with Grafana's own Go SDK
// (github.com/grafana/grafana-foundation-sdk/go), so that the JSON follows
// Grafana's schema rather than a hand-written copy of it.
package dashboards

import (
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	// Aliased: the helpers below are named stat, table and timeseries.
	statpanel "github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	tablepanel "github.com/grafana/grafana-foundation-sdk/go/table"
	timeseriespanel "github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Dashboard is a built dashboard, or the first error met building it (the
// SDK's builders record errors instead of returning them at each step).
type Dashboard struct {
	dashboard.Dashboard
	err error
}

// Panel is a panel under construction: an SDK panel builder and the size the
// board lays it out with.
type Panel struct {
	builder cog.Builder[dashboard.Panel]
	// overrideByName is the concrete builder's OverrideByName (the SDK has
	// no interface for it).
	overrideByName func(name string, properties []dashboard.DynamicConfigValue)
	w, h           int
}

var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// board is a dashboard under construction: panels are laid out left to right,
// wrapping at Grafana's 24 columns. The layout is ours, not the SDK
// builder's, which does not wrap a panel that would overflow the line.
type board struct {
	//lint:ignore SA1019 the classic dashboard JSON (schema v1) is what the old dashboards, their importers and Grafana's sidecar provisioning read; dashboardv2 is another format
	header  *dashboard.DashboardBuilder
	panels  []dashboard.PanelOrRowPanel
	errs    []error
	x, y, h int
	nextID  uint32
	// scope is added to every selector of the board's queries and variables
	// (objectScope unless set otherwise; see scoped).
	scope string
}

// newBoard starts a dashboard with the datasource variable and the cluster
// and namespace variables every board has; namespaces lists the namespaces
// to offer (label_values(namespaces, namespace)).
func newBoard(uid, title, description, namespaces string) *board {
	b := newBoardHeader(uid, title, description)
	b.header.WithVariable(scopeVariable("cluster", "Cluster", "label_values(gateway_metrics_up, cluster)",
		"The cluster label Prometheus (or Thanos, Mimir) adds; with one cluster there is none, and All matches that"))
	b.header.WithVariable(scopeVariable("namespace", "Namespace", "label_values("+scoped(namespaces, clusterScope)+", namespace)",
		"Objects of these namespaces only: same-named objects of other namespaces are not mixed in"))
	return b
}

// scopeVariable is a multi-value variable whose All is ".*", which also
// matches a series without the label.
func scopeVariable(name, label, query, description string) *dashboard.QueryVariableBuilder {
	all := "$__all"
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(description).
		Datasource(datasource).
		Query(dashboard.StringOrMap{Map: map[string]any{"query": query, "refId": "StandardVariableQuery"}}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")}, Value: dashboard.StringOrArrayOfString{String: &all}})
}

func newBoardHeader(uid, title, description string) *board {
	//lint:ignore SA1019 see board.header: the classic format on purpose
	header := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncOff).
		Link(dashboard.NewDashboardLinkBuilder("Gateway Dashboards").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"gateway-api-state"}).
			AsDropdown(false).
			IncludeVars(true).
			KeepTime(true).
			TargetBlank(false)).
		Refresh("1m").
		Tags([]string{"gateway-api", "gateway-api-state"}).
		Time("now-1h", "now").
		Timezone("utc").
		Version(1).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data Source").
			Type("prometheus").
			IncludeAll(false).
			Multi(false))
	return &board{header: header, nextID: 1, scope: objectScope}
}

// variable adds a multi-value "All"-capable query variable filled from
// label_values(<metric>, <label>), as the old dashboards did, within the
// board's scope.
func (b *board) variable(name, label, query, regex string) {
	b.header.WithVariable(dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(datasource).
		Query(dashboard.StringOrMap{Map: map[string]any{"query": scopedVariableQuery(query, b.scope), "refId": "StandardVariableQuery"}}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Regex(regex).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true))
}

func (b *board) row(title string) {
	if b.x > 0 {
		b.y += b.h
	}
	b.x, b.h = 0, 0
	row, err := dashboard.NewRowBuilder(title).
		Id(b.id()).
		Collapsed(false).
		GridPos(dashboard.GridPos{H: 1, W: 24, X: 0, Y: uint32(b.y)}).
		Build()
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("row %q: %w", title, err))
		return
	}
	// The SDK writes "panels": [] for an expanded row; Grafana reads it as
	// no nested panels, as it did the omitted field.
	b.panels = append(b.panels, dashboard.PanelOrRowPanel{RowPanel: &row})
	b.y++
}

func (b *board) id() uint32 {
	id := b.nextID
	b.nextID++
	return id
}

// add places p at the cursor, wrapping to a new line when it does not fit;
// its queries select within the board's scope.
func (b *board) add(p *Panel) { b.addIn(p, b.scope) }

// addIn is add with queries in another scope (clusterScope for the
// exporter's own series and cluster-scoped kinds, objectScope for objects),
// or none ("") for queries scoped by hand: joins across namespaces, where
// only one side is selected by namespace.
func (b *board) addIn(p *Panel, scope string) {
	if b.x+p.w > 24 {
		b.y += b.h
		b.x, b.h = 0, 0
	}
	built, err := p.builder.Build()
	if err != nil {
		b.errs = append(b.errs, err)
		return
	}
	for i, t := range built.Targets {
		if q, ok := t.(prometheus.Dataquery); ok && scope != "" {
			q.Expr = scoped(q.Expr, scope)
			built.Targets[i] = q
		}
	}
	built.GridPos = &dashboard.GridPos{H: uint32(p.h), W: uint32(p.w), X: uint32(b.x), Y: uint32(b.y)}
	built.Id = cog.ToPtr(b.id())
	b.x += p.w
	if p.h > b.h {
		b.h = p.h
	}
	if b.x >= 24 {
		b.y += b.h
		b.x, b.h = 0, 0
	}
	b.panels = append(b.panels, dashboard.PanelOrRowPanel{Panel: &built})
}

func (b *board) dashboard() *Dashboard {
	d, err := b.header.Build()
	if err != nil {
		b.errs = append(b.errs, err)
	}
	// The SDK places links in the controls menu by default; the link bar
	// above the panels is where the old dashboards showed them.
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
	d.Panels = b.panels
	return &Dashboard{Dashboard: d, err: errors.Join(b.errs...)}
}

func f(v float64) *float64 { return &v }

func query(expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasource).Expr(expr).RefId("A")
}

func instant(expr, format string) cog.Builder[variants.Dataquery] {
	q := query(expr).Instant()
	if format == "table" {
		q.Format(prometheus.PromQueryFormatTable)
	}
	return q
}

func ranged(expr, legend string) cog.Builder[variants.Dataquery] {
	return query(expr).Range().LegendFormat(legend)
}

func thresholds(steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

func color(mode dashboard.FieldColorModeId) *dashboard.FieldColorBuilder {
	return dashboard.NewFieldColorBuilder().Mode(mode)
}

// stat is a single-number panel. bad marks counters where anything above
// zero is a problem (shown red); others are shown in the neutral blue.
func stat(title, description, expr string, bad bool) *Panel {
	steps := []dashboard.Threshold{{Color: "blue"}}
	if bad {
		steps = []dashboard.Threshold{{Color: "green"}, {Color: "red", Value: f(1)}}
	}
	p := statpanel.NewPanelBuilder().
		Datasource(datasource).
		Title(title).
		Description(description).
		ColorScheme(color(dashboard.FieldColorModeIdThresholds)).
		Mappings([]dashboard.ValueMapping{}).
		Thresholds(thresholds(steps...)).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeCenter).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("").Values(false)).
		TextMode(common.BigValueTextModeValue).
		WithTarget(instant(expr, ""))
	return &Panel{builder: p, overrideByName: func(n string, v []dashboard.DynamicConfigValue) { p.OverrideByName(n, v) }, w: 3, h: 4}
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
	"backend_group":                  "Backend Group",
	"backend_kind":                   "Backend Kind",
	"backend_name":                   "Backend",
	"backend_namespace":              "Backend Namespace",
	"backend_port":                   "Backend Port",
	"controller_name":                "Controller",
	"customresource_kind":            "Kind",
	"customresource_version":         "Version",
	"exported_namespace":             "Namespace (exported)",
	"family":                         "Family",
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
	"permitted":                      "Permitted",
	"policy_group":                   "Policy Group",
	"policy_kind":                    "Policy Kind",
	"policy_name":                    "Policy",
	"policy_namespace":               "Policy Namespace",
	"port":                           "Port",
	"protocol":                       "Protocol",
	"ref_group":                      "Ref Group",
	"ref_kind":                       "Ref Kind",
	"ref_name":                       "Ref",
	"ref_namespace":                  "Ref Namespace",
	"rule":                           "Rule",
	"state":                          "State",
	"target_group":                   "Target Group",
	"target_kind":                    "Target Kind",
	"target_name":                    "Target",
	"target_namespace":               "Target Namespace",
	"target_section_name":            "Target Section",
	"tls_mode":                       "TLS Mode",
	"type":                           "Condition",
	"via":                            "Via",
}

// column order: identity first, then relationships, then details.
var columnOrder = []string{
	"customresource_kind", "customresource_version", "namespace", "exported_namespace", "name",
	"gatewayclass_name", "listener_name", "hostname", "port", "protocol", "tls_mode",
	"allowed_routes_namespaces_from", "controller_name",
	"parent_group", "parent_kind", "parent_namespace", "parent_name", "parent_section_name", "parent_port",
	"ancestor_group", "ancestor_kind", "ancestor_namespace", "ancestor_name", "ancestor_section_name", "ancestor_port",
	"state", "policy_group", "policy_kind", "policy_namespace", "policy_name", "via",
	"rule", "backend_group", "backend_kind", "backend_namespace", "backend_name", "backend_port",
	"ref_group", "ref_kind", "ref_namespace", "ref_name", "permitted",
	"target_group", "target_kind", "target_namespace", "target_name", "target_section_name", "type", "Value",
}

type tableKind int

const (
	plainTable     tableKind = iota // Value hidden (info-style metrics)
	createdTable                    // Value is a creation timestamp
	countTable                      // Value is a number to show
	conditionTable                  // Value is a condition: 1 True, 0 False/Unknown
)

var colorBackground = common.TableCellOptions{
	TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{Type: common.TableCellDisplayModeColorBackground},
}

// tableBase is what every table shares: an instant query in table format,
// compact rows, no footer, filterable columns.
func tableBase(title, description, expr string, align common.FieldTextAlignment) *tablepanel.PanelBuilder {
	return tablepanel.NewPanelBuilder().
		Datasource(datasource).
		Title(title).
		Description(description).
		Align(align).
		Filterable(true).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false)).
		ShowHeader(true).
		WithTarget(instant(expr, "table"))
}

func tablePanel(p *tablepanel.PanelBuilder, w, h int) *Panel {
	return &Panel{builder: p, overrideByName: func(n string, v []dashboard.DynamicConfigValue) { p.OverrideByName(n, v) }, w: w, h: h}
}

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
	p := tableBase(title, description, expr, common.FieldTextAlignmentAuto).Mappings([]dashboard.ValueMapping{})
	switch kind {
	case plainTable:
		exclude["Value"] = true
	case createdTable:
		p.WithTransformation(dashboard.DataTransformerConfig{
			Id: "calculateField",
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
		p.OverrideByName("Created At", []dashboard.DynamicConfigValue{{Id: "unit", Value: "dateTimeAsIso"}})
	case countTable:
		rename["Value"] = valueName
	case conditionTable:
		rename["Value"] = valueName
		p.OverrideByName(valueName, []dashboard.DynamicConfigValue{
			{Id: "custom.cellOptions", Value: colorBackground},
			{Id: "mappings", Value: conditionMappings(false)},
		})
	}
	p.WithTransformation(dashboard.DataTransformerConfig{
		Id: "organize",
		Options: map[string]any{
			"excludeByName": exclude,
			"indexByName":   index,
			"renameByName":  rename,
		},
	})
	return tablePanel(p, 12, 8)
}

// conditionMappings shows a condition value as True/False. For conditions
// of negative polarity (Conflicted, OverlappingTLSConfig) True is the bad one.
func conditionMappings(negative bool) []dashboard.ValueMapping {
	good, bad := "green", "red"
	if negative {
		good, bad = bad, good
	}
	return valueMappings("True", good, "False/Unknown", bad)
}

// valueMappings maps 1 and 0 to a text and a color.
func valueMappings(oneText, oneColor, zeroText, zeroColor string) []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"1": {Color: cog.ToPtr(oneColor), Index: cog.ToPtr[int32](0), Text: cog.ToPtr(oneText)},
			"0": {Color: cog.ToPtr(zeroColor), Index: cog.ToPtr[int32](1), Text: cog.ToPtr(zeroText)},
		},
	}}}
}

// conditionMatrix shows one row per object (rowLabel, built with label_join
// in expr) and one column per condition type.
func conditionMatrix(title, description, expr, rowLabel, rowTitle string, negativeTypes ...string) *Panel {
	p := tableBase(title, description, expr, common.FieldTextAlignmentCenter).
		CellOptions(colorBackground).
		Mappings(conditionMappings(false)).
		OverrideByName(rowLabel+"\\type", []dashboard.DynamicConfigValue{{Id: "displayName", Value: rowTitle}})
	for _, t := range negativeTypes {
		p.OverrideByName(t, []dashboard.DynamicConfigValue{{Id: "mappings", Value: conditionMappings(true)}})
	}
	p.WithTransformation(dashboard.DataTransformerConfig{
		Id: "groupingToMatrix",
		Options: map[string]any{
			"columnField": "type",
			"rowField":    rowLabel,
			"valueField":  "Value",
		},
	})
	return tablePanel(p, 24, 8)
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
	p := tableBase(title, description, expr, common.FieldTextAlignmentAuto).
		Mappings([]dashboard.ValueMapping{}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "groupBy", Options: map[string]any{"fields": fields}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{}, "indexByName": map[string]int{}, "renameByName": rename,
		}})
	return tablePanel(p, 12, 8)
}

// stateTimeline shows a 1/0 health series over time.
func stateTimeline(title, description, expr, legend, upText, downText string) *Panel {
	p := statetimeline.NewPanelBuilder().
		Datasource(datasource).
		Title(title).
		Description(description).
		ColorScheme(color(dashboard.FieldColorModeIdThresholds)).
		FillOpacity(80).
		LineWidth(0).
		Mappings(valueMappings(upText, "green", downText, "red")).
		Thresholds(thresholds(dashboard.Threshold{Color: "red"}, dashboard.Threshold{Color: "green", Value: f(1)})).
		AlignValue(common.TimelineValueAlignmentLeft).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(false)).
		MergeValues(true).
		RowHeight(0.9).
		ShowValue(common.VisibilityModeNever).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone)).
		WithTarget(ranged(expr, legend))
	return &Panel{builder: p, overrideByName: func(n string, v []dashboard.DynamicConfigValue) { p.OverrideByName(n, v) }, w: 24, h: 8}
}

// timeseries is a plain graph of a range query.
func timeseries(title, description, expr, legend, unit string) *Panel {
	p := timeseriespanel.NewPanelBuilder().
		Datasource(datasource).
		Title(title).
		Description(description).
		ColorScheme(color(dashboard.FieldColorModeIdPaletteClassic)).
		DrawStyle(common.GraphDrawStyleLine).
		FillOpacity(10).
		LineWidth(1).
		ShowPoints(common.VisibilityModeNever).
		Mappings([]dashboard.ValueMapping{}).
		Legend(common.NewVizLegendOptionsBuilder().Calcs([]string{"lastNotNull", "max"}).DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementRight).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		WithTarget(ranged(expr, legend))
	if unit != "" {
		p.Unit(unit)
	}
	return &Panel{builder: p, overrideByName: func(n string, v []dashboard.DynamicConfigValue) { p.OverrideByName(n, v) }, w: 12, h: 8}
}

// linkColumn makes a table column a drill-down link to another dashboard.
func linkColumn(p *Panel, column, title, uid, slug, variable string) *Panel {
	p.overrideByName(column, []dashboard.DynamicConfigValue{{
		Id: "links",
		Value: []map[string]any{{
			"title": title,
			"url":   "/d/" + uid + "/" + slug + "?var-" + variable + "=${__value.text}&${datasource:queryparam}&${cluster:queryparam}&${namespace:queryparam}",
		}},
	}})
	return p
}

// size overrides the default width and height of a panel.
func size(p *Panel, w, h int) *Panel {
	p.w, p.h = w, h
	return p
}
