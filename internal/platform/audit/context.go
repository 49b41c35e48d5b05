// SPDX-License-Identifier: AGPL-3.0-or-later

package audit

import "context"

type breakGlassKey struct{}

type breakGlass struct{ clientID, reason string }

// WithBreakGlass marks ctx as acting on clientID under a break-glass grant
// with the given reason; every entry about that client written with this
// ctx is flagged and carries the reason, so no service has to remember to.
func WithBreakGlass(ctx context.Context, clientID, reason string) context.Context {
	return context.WithValue(ctx, breakGlassKey{}, breakGlass{clientID, reason})
}

// flag applies a break-glass marker in ctx to the entries it concerns.
func flag(ctx context.Context, entries []Entry) {
	bg, ok := ctx.Value(breakGlassKey{}).(breakGlass)
	if !ok {
		return
	}
	for i := range entries {
		if entries[i].ClientID == bg.clientID {
			entries[i].BreakGlass = true
			if entries[i].Reason == "" {
				entries[i].Reason = bg.reason
			}
		}
	}
}
