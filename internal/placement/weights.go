// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

// MaxWeight bounds every weight an institution may set: far above any
// sensible cost, far below the optimiser's own limit.
const MaxWeight = 1_000_000

var weightRange = fmt.Sprintf("Use a whole number from 0 to %d.", MaxWeight)

// WeightValues are the soft-cost weights an institution may set: the
// terms the register can feed today (staff languages, programmes and home
// regions are not kept, so those terms stay zero everywhere).
type WeightValues struct {
	// Risk × riskA × riskB / 100 for every pair sharing a cell.
	Risk int64 `json:"risk"`
	// Violence per person with a violence alert, per cell-mate.
	Violence int64 `json:"violence"`
	// Move when a person leaves their cell.
	Move int64 `json:"move"`
	// Transfer on top of Move when the move is to another institution.
	Transfer int64 `json:"transfer"`
	// Smoking when a smoker is placed where smoking is not allowed.
	Smoking int64 `json:"smoking"`
}

// DefaultWeightValues are the weights of an institution that has set
// none: solve.DefaultWeights.
func DefaultWeightValues() WeightValues {
	d := solve.DefaultWeights()
	return WeightValues{Risk: d.Risk, Violence: d.Violence, Move: d.Move, Transfer: d.Transfer, Smoking: d.Smoking}
}

// Solve turns the values into the optimiser's weights; the terms the
// register cannot feed are zero.
func (v WeightValues) Solve() solve.Weights {
	return solve.Weights{Risk: v.Risk, Violence: v.Violence, Move: v.Move, Transfer: v.Transfer, Smoking: v.Smoking}
}

// WeightFields names the weights in the order of the form and the API.
var WeightFields = []string{"risk", "violence", "move", "transfer", "smoking"}

// Field is the weight named f (one of WeightFields).
func (v *WeightValues) Field(f string) *int64 {
	switch f {
	case "risk":
		return &v.Risk
	case "violence":
		return &v.Violence
	case "move":
		return &v.Move
	case "transfer":
		return &v.Transfer
	case "smoking":
		return &v.Smoking
	}
	return nil
}

func (v WeightValues) validate() error {
	var fe apperr.Fields
	for _, f := range WeightFields {
		if n := *v.Field(f); n < 0 || n > MaxWeight {
			fe.Add(f, weightRange)
		}
	}
	return fe.Err()
}

// InstitutionWeights are the weights in force in an institution. Version
// 0 (Default) means it has set none and the defaults apply.
type InstitutionWeights struct {
	InstitutionID string `json:"institution_id"`
	WeightValues
	Default       bool      `json:"default"`
	UpdatedByName string    `json:"updated_by_name,omitempty"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
	Version       int       `json:"version"`
}

func readWeights(ctx context.Context, q querier, instID string) (*InstitutionWeights, error) {
	out := &InstitutionWeights{InstitutionID: instID}
	var at string
	err := q.QueryRowContext(ctx, `SELECT risk, violence, move, transfer, smoking, updated_by_name, updated_at, version
		FROM placement_weights WHERE institution_id = $1`, instID).Scan(&out.Risk, &out.Violence, &out.Move, &out.Transfer, &out.Smoking,
		&out.UpdatedByName, &at, &out.Version)
	if errors.Is(err, sql.ErrNoRows) {
		out.WeightValues, out.Default = DefaultWeightValues(), true
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("placement: weights: %w", err)
	}
	out.UpdatedAt = tm(at)
	return out, nil
}

// Weights are the weights in force in institution instID (the defaults
// when it has set none). The caller has checked that instID is an
// institution of the caseload.
func (s *Service) Weights(ctx context.Context, instID string) (*InstitutionWeights, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) (*InstitutionWeights, error) {
		return readWeights(ctx, tx, instID)
	})
}

// SetWeights sets the weights of institution instID at version (0: it has
// set none yet). The change is audited and announced
// (placement.weights_set).
func (s *Service) SetWeights(ctx context.Context, instID string, version int, v WeightValues) (*InstitutionWeights, error) {
	if err := v.validate(); err != nil {
		return nil, err
	}
	var out *InstitutionWeights
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		cur, err := readWeights(ctx, tx, instID)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return apperr.StaleVersion("institution's weights", cur.Version)
		}
		a := actorOf(ctx)
		if version == 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO placement_weights (institution_id, risk, violence, move, transfer, smoking,
				updated_by_id, updated_by_name, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
				instID, v.Risk, v.Violence, v.Move, v.Transfer, v.Smoking, a.ID, a.Name, tx.NowText())
		} else {
			var res sql.Result
			res, err = tx.ExecContext(ctx, `UPDATE placement_weights SET risk = $1, violence = $2, move = $3, transfer = $4, smoking = $5,
				updated_by_id = $6, updated_by_name = $7, updated_at = $8, version = version + 1 WHERE institution_id = $9 AND version = $10`,
				v.Risk, v.Violence, v.Move, v.Transfer, v.Smoking, a.ID, a.Name, tx.NowText(), instID, version)
			if err == nil {
				if n, _ := res.RowsAffected(); n != 1 {
					return apperr.StaleVersion("institution's weights", cur.Version)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("placement: set weights: %w", err)
		}
		detail := fmt.Sprintf("version=%d risk=%d violence=%d move=%d transfer=%d smoking=%d", version+1, v.Risk, v.Violence, v.Move, v.Transfer, v.Smoking)
		if err := audit.Write(ctx, tx, audit.Entry{Action: "placement.weights.set", ObjectType: "institution", ObjectID: instID, Detail: detail}); err != nil {
			return err
		}
		if err := events.Emit(ctx, tx, "placement.weights_set", instID, map[string]any{"institution_id": instID, "version": version + 1,
			"risk": v.Risk, "violence": v.Violence, "move": v.Move, "transfer": v.Transfer, "smoking": v.Smoking}); err != nil {
			return err
		}
		out, err = readWeights(ctx, tx, instID)
		return err
	})
	return out, err
}

// weightsOf reads the weights set by the institutions ids; an institution
// that has set none is not in the answer.
func (s *Service) weightsOf(ctx context.Context, ids []string) (map[string]WeightValues, error) {
	out := map[string]WeightValues{}
	if len(ids) == 0 {
		return out, nil
	}
	return db.Read(ctx, s.DB, func(tx *db.Tx) (map[string]WeightValues, error) {
		var args []any
		rows, err := tx.QueryContext(ctx, `SELECT institution_id, risk, violence, move, transfer, smoking FROM placement_weights
			WHERE institution_id IN (`+placeholders(&args, ids)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("placement: weights: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var v WeightValues
			if err := rows.Scan(&id, &v.Risk, &v.Violence, &v.Move, &v.Transfer, &v.Smoking); err != nil {
				return nil, err
			}
			out[id] = v
		}
		return out, rows.Err()
	})
}

// weightsAt are the weights in force for a placement in cell k.
func weightsAt(in *solve.Instance, k int) *solve.Weights {
	if w := in.Institutions[in.Units[in.Cells[k].Unit].Institution].Weights; w != nil {
		return w
	}
	return &in.Weights
}
