// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

import "github.com/custodia/custodia/internal/platform/web"

func (h *Handlers) pageRoutes() []web.Route { return nil }
