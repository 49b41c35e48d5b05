// SPDX-License-Identifier: AGPL-3.0-or-later

package app

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/web"
)

// OpenAPI is the API description served at /api/openapi.json. It is
// generated from the registered routes by GenerateOpenAPI and committed;
// TestOpenAPIInSync fails when the two differ (`go test ./internal/app
// -run OpenAPI -update` rewrites it).
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(OpenAPI)
	return err
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)(\.\.\.)?\}`)

// GenerateOpenAPI describes every API route of s as OpenAPI 3.1.
func GenerateOpenAPI(s *web.Server) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range s.Routes() {
		if !rt.API || !strings.HasPrefix(rt.Pattern, "/api/") {
			continue
		}
		p := strings.TrimSuffix(rt.Pattern, "{$}")
		op := map[string]any{
			"operationId": operationID(rt.Method, p),
			"summary":     rt.Summary,
			"tags":        []string{tagOf(p)},
		}
		if rt.Perm != "" && rt.Scope != web.ScopePublic {
			op["description"] = "Requires the permission `" + string(rt.Perm) + "` (scope: " + string(rt.Scope) + ")."
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}}
		} else {
			op["security"] = []any{}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(p, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		if rt.Method == "POST" {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "Repeating a request with the same key returns the first answer and changes nothing more.", "schema": map[string]any{"type": "string", "maxLength": 200}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != nil {
			// Request bodies are described inline and without "required":
			// which fields a request needs depends on the operation (a
			// PATCH needs none but version), and the server names every
			// missing one in its problem+json answer.
			in := &schemaGen{defs: map[string]any{}, input: true}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": in.schema(reflect.TypeOf(rt.Request))}}}
		}
		ok := "200"
		if rt.Method == "POST" {
			ok = "2XX" // 201 Created for new resources, 200 for actions
		}
		resp := map[string]any{"description": "OK"}
		if rt.Response != nil {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Response))}}
		}
		responses := map[string]any{ok: resp, "default": map[string]any{"$ref": "#/components/responses/Problem"}}
		op["responses"] = responses
		pi := pathParam.ReplaceAllString(p, "{$1}")
		if paths[pi] == nil {
			paths[pi] = map[string]any{}
		}
		paths[pi][strings.ToLower(rt.Method)] = op
	}
	g.defs["Problem"] = map[string]any{
		"type":        "object",
		"description": "RFC 9457 problem details; errors names each field at fault.",
		"properties": map[string]any{
			"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"}, "status": map[string]any{"type": "integer"},
			"detail": map[string]any{"type": "string"}, "instance": map[string]any{"type": "string"},
			"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
				"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}, "required": []string{"field", "message"}}},
		},
		"required": []string{"title", "status"},
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Custodia API", "version": "1.0.0",
			"description": "The JSON API of Custodia, an offender management system. Every call is checked against the caller's role and caseload and written to the audit log. Errors are RFC 9457 problem+json."},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "An API token issued by an administrator, bound to a role and a caseload."},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": "custodia_session", "description": "A signed-in staff session; writes also need the X-CSRF-Token header."},
			},
			"responses": map[string]any{"Problem": map[string]any{"description": "An error", "content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func tagOf(p string) string {
	rest := strings.TrimPrefix(p, "/api/v1/")
	seg, _, _ := strings.Cut(rest, "/")
	if seg == "" || strings.HasPrefix(rest, "/api/") {
		return "system"
	}
	return seg
}

func operationID(method, p string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/api/"), "/") {
		seg = strings.Trim(seg, "{}.")
		for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// schemaGen turns Go types into JSON Schema (the 2020-12 dialect OpenAPI
// 3.1 uses), naming struct types in components.
type schemaGen struct {
	defs  map[string]any
	input bool // describe a request body: inline, no required fields
}

var timeType = reflect.TypeOf(time.Time{})

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if name == "" || g.input {
			return g.object(t)
		}
		key := schemaName(t)
		if _, ok := g.defs[key]; !ok {
			g.defs[key] = map[string]any{} // placeholder against recursion
			g.defs[key] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + key}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{}
}

func schemaName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := t.Name()
	if pkg == "" || strings.HasPrefix(strings.ToLower(name), pkg) {
		return name
	}
	return strings.ToUpper(pkg[:1]) + pkg[1:] + name
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !g.input && !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
