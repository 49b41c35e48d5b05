// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/client/search"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

// Service is the person register. Its methods trust the web layer's
// role and caseload check for the client named in the route; they audit
// every read and write as the actor in ctx.
type Service struct {
	DB    *db.DB
	Audit *audit.Log
}

// NewClient is what registering a person takes.
type NewClient struct {
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
	Aliases           []string `json:"aliases"`
	BirthDate         string   `json:"birth_date"`
	Sex               string   `json:"sex"`
	NationalID        string   `json:"national_id"`
	NationalIDCountry string   `json:"national_id_country"`
	Nationality       string   `json:"nationality"`
	Languages         []string `json:"languages"`
	// HomeLocation is the institution or office registering the person;
	// it decides who sees the record before any stay.
	HomeLocation string `json:"home_location"`
}

var (
	countryRe = regexp.MustCompile(`^[A-Z]{2}$`)
	langRe    = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
)

func cleanName(s string) string { return strings.Join(strings.Fields(s), " ") }

func validName(fe *apperr.Fields, field, v string, required bool) {
	switch {
	case v == "" && required:
		fe.Add(field, "Required.")
	case utf8.RuneCountInString(v) > 100:
		fe.Add(field, "At most 100 characters.")
	case strings.ContainsAny(v, "<>{}\\\x00"):
		fe.Add(field, "Contains characters a name cannot have.")
	}
}

// normalise trims and validates a person's details; it fills birth date
// and sex from a national ID when they are missing and refuses them when
// they disagree.
func (n *PersonDetails) normalise(now time.Time) error {
	var fe apperr.Fields
	n.GivenName, n.FamilyName = cleanName(n.GivenName), cleanName(n.FamilyName)
	validName(&fe, "given_name", n.GivenName, true)
	validName(&fe, "family_name", n.FamilyName, true)
	var aliases []string
	for i, a := range n.Aliases {
		a = cleanName(a)
		if a == "" {
			continue
		}
		validName(&fe, fmt.Sprintf("aliases[%d]", i), a, false)
		aliases = append(aliases, a)
	}
	if len(aliases) > 20 {
		fe.Add("aliases", "At most 20 aliases.")
	}
	n.Aliases = aliases
	n.NationalID = strings.TrimSpace(n.NationalID)
	n.NationalIDCountry = strings.ToUpper(strings.TrimSpace(n.NationalIDCountry))
	if n.NationalID != "" {
		if n.NationalIDCountry == "" {
			fe.Add("national_id_country", "Say which country issued the ID number (SE, NO or DK).")
		} else if !slices.Contains([]string{"SE", "NO", "DK"}, n.NationalIDCountry) {
			fe.Add("national_id_country", "Use SE, NO or DK.")
		} else if id, err := natid.ParseAt(natid.Country(n.NationalIDCountry), n.NationalID, now); err != nil {
			fe.Add("national_id", "Not a valid ID number: "+strings.TrimPrefix(err.Error(), "natid: ")+".")
		} else {
			n.NationalID = id.Number
			bd := id.BirthDate.Format("2006-01-02")
			if n.BirthDate == "" {
				n.BirthDate = bd
			} else if n.BirthDate != bd && id.Kind != "samordningsnummer" && id.Kind != "d-nummer" {
				fe.Add("birth_date", "Does not match the date of birth in the ID number ("+bd+").")
			}
			if n.Sex == "" {
				n.Sex = id.Sex
			}
		}
	} else {
		n.NationalIDCountry = ""
	}
	if n.BirthDate == "" {
		fe.Add("birth_date", "Required (YYYY-MM-DD), unless a national ID number gives it.")
	} else if bd, err := time.Parse("2006-01-02", n.BirthDate); err != nil {
		fe.Add("birth_date", "Use the form YYYY-MM-DD.")
	} else if bd.After(now) || now.Year()-bd.Year() > 120 {
		fe.Add("birth_date", "Must be a date in the past 120 years.")
	}
	n.Sex = strings.ToUpper(strings.TrimSpace(n.Sex))
	if !slices.Contains([]string{"F", "M", "X"}, n.Sex) {
		fe.Add("sex", "Use F, M or X.")
	}
	n.Nationality = strings.ToUpper(strings.TrimSpace(n.Nationality))
	if n.Nationality != "" && !countryRe.MatchString(n.Nationality) {
		fe.Add("nationality", "Use a two-letter country code (ISO 3166), e.g. SE.")
	}
	var langs []string
	for _, l := range n.Languages {
		l = strings.TrimSpace(l)
		if l == "" || slices.Contains(langs, l) {
			continue
		}
		if !langRe.MatchString(l) {
			fe.Add("languages", fmt.Sprintf("%q is not a language code (e.g. sv, nb, da, en, ar).", l))
			continue
		}
		langs = append(langs, l)
	}
	n.Languages = langs
	return fe.Err()
}

// PersonDetails are the editable facts about a person.
type PersonDetails = NewClient

func actorOf(ctx context.Context) audit.Actor {
	a, _ := audit.ActorFrom(ctx)
	return a
}

func searchDoc(c *Client, aliases []string) search.Doc {
	d := search.Doc{Names: append([]string{c.GivenName, c.FamilyName}, aliases...), IDs: []string{c.Number}}
	if c.NationalID != "" {
		d.IDs = append(d.IDs, c.NationalID)
	}
	return d
}

// Register creates a person's one record. A national ID number already on
// another record is a conflict: the person is registered once.
func (s *Service) Register(ctx context.Context, n NewClient) (*Client, error) {
	var fe apperr.Fields
	if n.HomeLocation == "" {
		fe.Add("home_location", "Choose the institution or office registering the person.")
	}
	nerr := n.normalise(s.DB.Now())
	if nerr != nil {
		e, _ := apperr.As(nerr)
		fe = append(fe, e.Fields...)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	var c *Client
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if _, err := estate.LocationExists(ctx, tx, n.HomeLocation); err != nil {
			return apperr.Field("home_location", "No such institution or office.")
		}
		// Taking the next number first locks the counter row until commit,
		// so two registrations of the same ID number cannot both pass the
		// duplicate check (PostgreSQL runs READ COMMITTED; SQLite has one
		// writer anyway).
		num, err := nextNumber(ctx, tx)
		if err != nil {
			return err
		}
		if err := duplicateID(ctx, tx, n.NationalID, n.NationalIDCountry, ""); err != nil {
			return err
		}
		c = &Client{ID: db.NewID(), Number: num, GivenName: n.GivenName, FamilyName: n.FamilyName, Aliases: n.Aliases, BirthDate: n.BirthDate,
			Sex: n.Sex, NationalID: n.NationalID, NationalIDCountry: n.NationalIDCountry, Nationality: n.Nationality, Languages: n.Languages,
			Status: Registered, HomeLocation: n.HomeLocation, Version: 1, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		return insertClient(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// insertClient writes a new person with audit, event, timeline and search
// index (shared by Register and the demo/bench loaders).
func insertClient(ctx context.Context, tx *db.Tx, c *Client) error {
	if err := insertClientRow(ctx, tx, c); err != nil {
		return err
	}
	for _, a := range c.Aliases {
		if err := insertAlias(ctx, tx, db.NewID(), c.ID, a); err != nil {
			return err
		}
	}
	if err := search.Index(ctx, tx, c.ID, searchDoc(c, c.Aliases)); err != nil {
		return err
	}
	a := actorOf(ctx)
	if err := insertHistory(ctx, tx, c.ID, "registered", "Registered as "+c.Number, a.ID, a.Name, "", ""); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Action: "client.register", ClientID: c.ID, ObjectType: "client", ObjectID: c.ID}); err != nil {
		return err
	}
	return events.Emit(ctx, tx, "client.registered", c.ID, map[string]any{"client_id": c.ID, "number": c.Number, "home_location": c.HomeLocation})
}

// UpdateDetails changes a person's details if version is still current.
func (s *Service) UpdateDetails(ctx context.Context, id string, version int, d PersonDetails) (*Client, error) {
	if err := d.normalise(s.DB.Now()); err != nil {
		return nil, err
	}
	var c *Client
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		cur, err := liveClient(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return apperr.StaleVersion("client", cur.Version)
		}
		c, err = updateDetails(ctx, tx, cur, d)
		return err
	})
	return c, err
}

// DetailsPatch is the body of PATCH /api/v1/clients/{id}: the version
// and only the details that change.
type DetailsPatch struct {
	Version           *int      `json:"version"`
	GivenName         *string   `json:"given_name"`
	FamilyName        *string   `json:"family_name"`
	Aliases           *[]string `json:"aliases"`
	BirthDate         *string   `json:"birth_date"`
	Sex               *string   `json:"sex"`
	NationalID        *string   `json:"national_id"`
	NationalIDCountry *string   `json:"national_id_country"`
	Nationality       *string   `json:"nationality"`
	Languages         *[]string `json:"languages"`
}

// PatchDetails changes the details p names and keeps the others, if
// version is still current: patching a newer record than the caller read
// would apply the change to values the caller never saw. p.Version is
// not used; the caller passes version.
func (s *Service) PatchDetails(ctx context.Context, id string, version int, p DetailsPatch) (*Client, error) {
	var c *Client
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		cur, err := liveClient(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return apperr.StaleVersion("client", cur.Version)
		}
		aliases, err := loadAliases(ctx, tx, id)
		if err != nil {
			return err
		}
		d := PersonDetails{GivenName: cur.GivenName, FamilyName: cur.FamilyName, Aliases: aliases, BirthDate: cur.BirthDate, Sex: cur.Sex,
			NationalID: cur.NationalID, NationalIDCountry: cur.NationalIDCountry, Nationality: cur.Nationality, Languages: cur.Languages}
		set := func(dst, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&d.GivenName, p.GivenName)
		set(&d.FamilyName, p.FamilyName)
		set(&d.BirthDate, p.BirthDate)
		set(&d.Sex, p.Sex)
		set(&d.NationalID, p.NationalID)
		set(&d.NationalIDCountry, p.NationalIDCountry)
		set(&d.Nationality, p.Nationality)
		if p.Aliases != nil {
			d.Aliases = *p.Aliases
		}
		if p.Languages != nil {
			d.Languages = *p.Languages
		}
		if err := d.normalise(tx.Now); err != nil {
			return err
		}
		c, err = updateDetails(ctx, tx, cur, d)
		return err
	})
	return c, err
}

// liveClient loads the record a change is for; a record merged into
// another is a conflict (the change belongs on the survivor).
func liveClient(ctx context.Context, tx *db.Tx, id string) (*Client, error) {
	c, err := findClient(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if c.MergedInto != "" {
		return nil, apperr.New(apperr.Conflict, "This record was merged into another; work on that one.")
	}
	return c, nil
}

// updateDetails writes d, normalised, over the details of cur (read in tx
// at the version the caller sent) and returns the record as it now is.
func updateDetails(ctx context.Context, tx *db.Tx, cur *Client, d PersonDetails) (*Client, error) {
	id := cur.ID
	if d.NationalID != "" && (d.NationalID != cur.NationalID || d.NationalIDCountry != cur.NationalIDCountry) {
		if err := lockRegister(ctx, tx); err != nil {
			return nil, err
		}
		if err := duplicateID(ctx, tx, d.NationalID, d.NationalIDCountry, id); err != nil {
			return nil, err
		}
	}
	if err := writeDetails(ctx, tx, id, cur.Version, d); err != nil {
		return nil, err
	}
	if err := replaceAliases(ctx, tx, id, d.Aliases); err != nil {
		return nil, err
	}
	c, err := findClient(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	c.Aliases = d.Aliases
	if err := search.Index(ctx, tx, id, searchDoc(c, d.Aliases)); err != nil {
		return nil, err
	}
	a := actorOf(ctx)
	if err := insertHistory(ctx, tx, id, "details", "Personal details changed", a.ID, a.Name, "", ""); err != nil {
		return nil, err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Action: "client.update", ClientID: id, ObjectType: "client", ObjectID: id}); err != nil {
		return nil, err
	}
	return c, events.Emit(ctx, tx, "client.updated", id, map[string]any{"client_id": id, "version": c.Version})
}

// Locate resolves id through merges and returns the caseload locations of
// the record holding the person; it is the web layer's ClientLocator.
func (s *Service) Locate(ctx context.Context, id string) (string, []string, error) {
	cid, err := canonicalID(ctx, s.DB, id)
	if err != nil {
		return "", nil, err
	}
	locs, err := caseloadLocations(ctx, s.DB, cid)
	if err != nil {
		return "", nil, err
	}
	return cid, locs, nil
}

// Get reads a person's whole record for the client page: details, aliases,
// location names, legal bases, stays and alerts. The read is audited and
// durable before the record is returned.
func (s *Service) Get(ctx context.Context, id string) (*Client, error) {
	var c *Client
	err := s.DB.ReadOnly(ctx, func(tx *db.Tx) error {
		var err error
		if c, err = findClient(ctx, tx, id); err != nil {
			return err
		}
		if c.Aliases, err = loadAliases(ctx, tx, id); err != nil {
			return err
		}
		if c.Alerts, err = loadAlerts(ctx, tx, id, tx.NowText()); err != nil {
			return err
		}
		if c.LegalBases, err = loadBases(ctx, tx, id); err != nil {
			return err
		}
		if c.Stays, err = loadStays(ctx, tx, id); err != nil {
			return err
		}
		if c.Photo, err = loadPhotoInfo(ctx, tx, id); err != nil {
			return err
		}
		return s.nameLocation(ctx, tx, c.Location)
	})
	if err != nil {
		return nil, err
	}
	c.AllowedNext = Allowed(c.Status)
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "client.read", ClientID: c.ID, ObjectType: "client", ObjectID: c.ID, Detail: readDetail(readRecord)}); err != nil {
		return nil, fmt.Errorf("client: audit read: %w", err)
	}
	return c, nil
}

func (s *Service) nameLocation(ctx context.Context, tx *db.Tx, l *Location) error {
	if l == nil {
		return nil
	}
	if l.CellID != "" {
		p, err := estate.CellPlace(ctx, tx, l.CellID)
		if err != nil {
			return err
		}
		l.CellLabel, l.UnitName, l.InstitutionName = p.CellLabel, p.UnitName, p.InstitutionName
		return nil
	}
	names, err := estate.LocationNames(ctx, tx, []string{l.InstitutionID, l.UnitID, l.OfficeID})
	if err != nil {
		return err
	}
	l.InstitutionName, l.UnitName, l.OfficeName = names[l.InstitutionID], names[l.UnitID], names[l.OfficeID]
	return nil
}

// Timeline returns the person's history, newest first, before the given
// time (for paging); it is audited as a read.
func (s *Service) Timeline(ctx context.Context, id string, before time.Time, limit int) ([]HistoryEntry, error) {
	b := ""
	if !before.IsZero() {
		b = db.FormatTime(before)
	}
	h, _, err := s.TimelinePage(ctx, id, b, limit)
	return h, err
}

// TimelinePage returns up to limit lines of the person's history, newest
// first, after cursor: "" for the newest, a cursor returned by the
// previous page, or an RFC 3339 time (lines strictly older). next is the
// cursor of the following page, "" when there is none. It is audited as a
// read.
func (s *Service) TimelinePage(ctx context.Context, id, cursor string, limit int) (entries []HistoryEntry, next string, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	before, beforeID, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	h, err := loadHistory(ctx, s.DB, id, before, beforeID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("client: timeline: %w", err)
	}
	if len(h) > limit {
		h = h[:limit]
		last := h[limit-1]
		next = db.FormatTime(last.At) + "~" + last.ID
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "client.timeline.read", ClientID: id, ObjectType: "client", ObjectID: id, Detail: readDetail(readTimeline)}); err != nil {
		return nil, "", fmt.Errorf("client: audit read: %w", err)
	}
	return h, next, nil
}

// parseCursor reads a timeline cursor: "<stored time>~<entry id>" or an
// RFC 3339 time.
func parseCursor(c string) (before, beforeID string, err error) {
	if c == "" {
		return "", "", nil
	}
	at, id, ok := strings.Cut(c, "~")
	t, perr := time.Parse(time.RFC3339Nano, at)
	if perr != nil || (ok && (id == "" || len(id) > 64)) {
		return "", "", apperr.Field("before", "Use the cursor of the previous page or an RFC 3339 time.")
	}
	return db.FormatTime(t), id, nil
}

// Resolve finds a record by its id or its client number (K-0000001)
// without reading it; it returns the id as stored (merges not followed).
func (s *Service) Resolve(ctx context.Context, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", apperr.New(apperr.NotFound, "There is no such client.")
	}
	if c, err := findClient(ctx, s.DB, ref); err == nil {
		return c.ID, nil
	}
	return findIDByNumber(ctx, s.DB, strings.ToUpper(ref))
}

// Movement reads one of the person's movements (audited as a read).
func (s *Service) Movement(ctx context.Context, clientID, id string) (Movement, error) {
	m, err := loadMovement(ctx, s.DB, clientID, id)
	if err != nil {
		return m, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "client.movement.read", ClientID: clientID, ObjectType: "movement", ObjectID: id, Detail: readDetail(readMovement)}); err != nil {
		return m, fmt.Errorf("client: audit read: %w", err)
	}
	return m, nil
}

// LegalBasis reads one of the person's legal bases (audited as a read of
// the legal basis alone).
func (s *Service) LegalBasis(ctx context.Context, clientID, id string) (LegalBasis, error) {
	bases, err := loadBases(ctx, s.DB, clientID)
	if err != nil {
		return LegalBasis{}, fmt.Errorf("client: legal basis: %w", err)
	}
	i := slices.IndexFunc(bases, func(b LegalBasis) bool { return b.ID == id })
	if i < 0 {
		return LegalBasis{}, apperr.New(apperr.NotFound, "This client has no such legal basis.")
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "client.legal_basis.read", ClientID: clientID, ObjectType: "legal_basis", ObjectID: id, Detail: readDetail(readBasis)}); err != nil {
		return LegalBasis{}, fmt.Errorf("client: audit read: %w", err)
	}
	return bases[i], nil
}

// Placed is who a person is and where they are now, for the records of
// other capabilities.
type Placed struct {
	ID            string // after merges
	Number        string
	Name          string
	InstitutionID string
	UnitID        string
	OfficeID      string
	HomeLocation  string
}

// Locations are the caseload locations of the place.
func (p Placed) Locations() []string {
	return locationsOf(&Location{InstitutionID: p.InstitutionID, UnitID: p.UnitID, OfficeID: p.OfficeID}, p.HomeLocation)
}

// AddHistory puts a line on a person's timeline inside another
// capability's transaction (registrations, plans, transports).
func AddHistory(ctx context.Context, tx *db.Tx, clientID, kind, summary, refType, refID string) error {
	a := actorOf(ctx)
	return insertHistory(ctx, tx, clientID, kind, summary, a.ID, a.Name, refType, refID)
}

// RecordIDs lists the ids that lead to the record id: id itself and the
// ids of the records merged into it. Other capabilities keep the client id
// they were given and find a person's rows through it after a merge.
func RecordIDs(ctx context.Context, tx *db.Tx, id string) ([]string, error) {
	return recordIDs(ctx, tx, id)
}

// Heading is who a page about a person is about: name and number only.
type Heading struct {
	ID         string `json:"id"`
	Number     string `json:"number"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

// Name is the person's full name.
func (h Heading) Name() string { return h.GivenName + " " + h.FamilyName }

// HeadingOf reads a person's name and number inside another capability's
// read, which audits them with what it shows.
func HeadingOf(ctx context.Context, tx *db.Tx, id string) (Heading, error) {
	return loadHeading(ctx, tx, id)
}

// NewLegalBasis is what recording a legal basis takes.
type NewLegalBasis struct {
	Kind       string `json:"kind"`
	StartDate  string `json:"start_date"`
	LengthDays int    `json:"length_days"`
	EndDate    string `json:"end_date"`
	Offences   string `json:"offences"`
	Court      string `json:"court"`
	CaseRef    string `json:"case_ref"`
}

func (n *NewLegalBasis) validate() error {
	var fe apperr.Fields
	n.Offences, n.Court, n.CaseRef = strings.TrimSpace(n.Offences), strings.TrimSpace(n.Court), strings.TrimSpace(n.CaseRef)
	if !slices.Contains([]string{BasisRemand, BasisSentence, BasisCommunity}, n.Kind) {
		fe.Add("kind", "Choose remand, sentence or community sentence.")
	}
	start, err := time.Parse("2006-01-02", n.StartDate)
	if err != nil {
		fe.Add("start_date", "Use the form YYYY-MM-DD.")
	}
	if n.Kind != BasisRemand && (n.LengthDays <= 0 || n.LengthDays > 365*100) {
		fe.Add("length_days", "Give the length in days (1 or more); life sentences use 36500.")
	}
	if n.Kind == BasisRemand && n.LengthDays < 0 {
		fe.Add("length_days", "Must not be negative.")
	}
	if n.EndDate != "" {
		end, err := time.Parse("2006-01-02", n.EndDate)
		if err != nil {
			fe.Add("end_date", "Use the form YYYY-MM-DD.")
		} else if !start.IsZero() && end.Before(start) {
			fe.Add("end_date", "Must not be before the start date.")
		}
	} else if n.LengthDays > 0 && !start.IsZero() {
		n.EndDate = start.AddDate(0, 0, n.LengthDays).Format("2006-01-02")
	}
	if n.Offences == "" {
		fe.Add("offences", "Name the offence(s).")
	} else if len(n.Offences) > 2000 {
		fe.Add("offences", "At most 2000 characters.")
	}
	if len(n.Court) > 200 {
		fe.Add("court", "At most 200 characters.")
	}
	if len(n.CaseRef) > 100 {
		fe.Add("case_ref", "At most 100 characters.")
	}
	return fe.Err()
}

// AddLegalBasis records a remand order or sentence for the person.
func (s *Service) AddLegalBasis(ctx context.Context, clientID string, n NewLegalBasis) (LegalBasis, error) {
	if err := n.validate(); err != nil {
		return LegalBasis{}, err
	}
	b := LegalBasis{ID: db.NewID(), Kind: n.Kind, StartDate: n.StartDate, LengthDays: n.LengthDays, EndDate: n.EndDate, Offences: n.Offences,
		Court: n.Court, CaseRef: n.CaseRef, Version: 1}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if _, err := liveClient(ctx, tx, clientID); err != nil {
			return err
		}
		b.CreatedAt = tx.Now
		a := actorOf(ctx)
		if err := insertBasis(ctx, tx, clientID, &b, a.ID); err != nil {
			return err
		}
		if err := insertHistory(ctx, tx, clientID, "legal_basis", basisSummary(&b), a.ID, a.Name, "legal_basis", b.ID); err != nil {
			return err
		}
		// A sentence in a case ends the remand order of the same case (the
		// person now serves the sentence); remand in other cases goes on.
		if b.Kind == BasisSentence && b.CaseRef != "" {
			n, err := endBases(ctx, tx, clientID, b.CaseRef, BasisRemand)
			if err != nil {
				return err
			}
			if n > 0 {
				if err := insertHistory(ctx, tx, clientID, "legal_basis", "Remand in case "+b.CaseRef+" ended: sentenced", a.ID, a.Name, "legal_basis", b.ID); err != nil {
					return err
				}
			}
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "client.legal_basis.add", ClientID: clientID, ObjectType: "legal_basis", ObjectID: b.ID}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.legal_basis_added", clientID, map[string]any{"client_id": clientID, "legal_basis_id": b.ID, "kind": b.Kind})
	})
	return b, err
}

func basisSummary(b *LegalBasis) string {
	switch b.Kind {
	case BasisRemand:
		return "Remanded in custody from " + b.StartDate + " (" + b.Offences + ")"
	case BasisSentence:
		return fmt.Sprintf("Sentenced to %d days from %s (%s)", b.LengthDays, b.StartDate, b.Offences)
	}
	return fmt.Sprintf("Community sentence of %d days from %s (%s)", b.LengthDays, b.StartDate, b.Offences)
}

// Move is a movement request.
type Move struct {
	Action  Action `json:"action"`
	Version int    `json:"version"`
	// CellID is the destination for admit, transfer and return after escape.
	CellID string `json:"cell_id"`
	// OfficeID is the probation office for a community sentence.
	OfficeID string `json:"office_id"`
	// LegalBasisID names the basis for an admission or community sentence;
	// empty picks the newest active one of the right kind.
	LegalBasisID string `json:"legal_basis_id"`
	Reason       string `json:"reason"`
}

// Moved is what a movement did.
type Moved struct {
	Client   *Client `json:"client"`
	Movement string  `json:"movement_id"`
}

// MoveClient performs a movement (admission, transfer, leave, escape,
// release, community sentence) if the transition table allows it from the
// person's current status and version is current. Beds are taken and
// freed in the same transaction, so capacity holds under concurrency.
func (s *Service) MoveClient(ctx context.Context, clientID string, m Move) (Moved, error) {
	var fe apperr.Fields
	m.Reason = strings.TrimSpace(m.Reason)
	if _, ok := transitions[m.Action]; !ok {
		fe.Add("action", "Choose one of: "+joinActions()+".")
	}
	if NeedsCell(m.Action) && m.CellID == "" {
		fe.Add("cell_id", "Choose a cell.")
	}
	if m.Action == StartCommunity && m.OfficeID == "" {
		fe.Add("office_id", "Choose the probation office.")
	}
	if len(m.Reason) > 1000 {
		fe.Add("reason", "At most 1000 characters.")
	}
	if (m.Action == Escape || m.Action == Transfer) && m.Reason == "" {
		fe.Add("reason", "Say why.")
	}
	if err := fe.Err(); err != nil {
		return Moved{}, err
	}
	var out Moved
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		c, err := liveClient(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if m.Version != c.Version {
			return apperr.StaleVersion("client", c.Version)
		}
		to, err := Next(c.Status, m.Action)
		if err != nil {
			return &apperr.Error{Code: apperr.Conflict, Message: "Not allowed: " + err.Error() + ".", Fields: []apperr.FieldError{{Field: "action", Message: err.Error()}}}
		}
		mv, err := s.applyMove(ctx, tx, c, m, to)
		if err != nil {
			return err
		}
		out.Movement = mv
		out.Client, err = findClient(ctx, tx, clientID)
		if err != nil {
			return err
		}
		return s.nameLocation(ctx, tx, out.Client.Location)
	})
	if err != nil {
		return Moved{}, err
	}
	out.Client.AllowedNext = Allowed(out.Client.Status)
	return out, nil
}

func joinActions() string {
	s := make([]string, len(Actions))
	for i, a := range Actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func (s *Service) applyMove(ctx context.Context, tx *db.Tx, c *Client, m Move, to Status) (string, error) {
	from := c.Status
	loc := c.Location
	if loc == nil {
		loc = &Location{}
	}
	newLoc := *loc
	fromCell, toCell := loc.CellID, ""
	fromLocation := cmp.Or(loc.UnitID, loc.InstitutionID, loc.OfficeID)
	stayID := c.StayID
	var summary string
	switch m.Action {
	case Admit, Transfer, EscapeReturn:
		if m.Action == Transfer && m.CellID == loc.CellID {
			return "", apperr.Field("cell_id", "The client is already in this cell.")
		}
		cell, err := estate.Occupy(ctx, tx, m.CellID)
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Code != apperr.Internal {
				return "", &apperr.Error{Code: e.Code, Message: e.Message, Fields: []apperr.FieldError{{Field: "cell_id", Message: e.Message}}}
			}
			return "", err
		}
		if m.Action == Transfer && fromCell != "" {
			if err := estate.Vacate(ctx, tx, fromCell); err != nil {
				return "", err
			}
		}
		place, err := estate.CellPlace(ctx, tx, cell.ID)
		if err != nil {
			return "", err
		}
		newLoc = Location{InstitutionID: place.InstitutionID, UnitID: place.UnitID, CellID: place.CellID}
		toCell = place.CellID
		where := place.InstitutionName + ", " + place.UnitName + ", cell " + place.CellLabel
		switch m.Action {
		case Admit:
			basis, err := s.activeBasis(ctx, tx, c.ID, m.LegalBasisID, BasisRemand, BasisSentence)
			if err != nil {
				return "", err
			}
			if c.Status == InCommunity {
				if err := endStay(ctx, tx, c.StayID, "recalled to custody"); err != nil {
					return "", err
				}
			}
			if stayID, err = insertStay(ctx, tx, c.ID, "custody", basis, place.InstitutionID); err != nil {
				return "", err
			}
			summary = "Admitted to " + where
		case Transfer:
			summary = "Transferred to " + where
		case EscapeReturn:
			summary = "Returned after escape to " + where
		}
	case LeaveOut:
		summary = "Left on temporary leave"
	case LeaveReturn:
		summary = "Returned from leave"
	case Escape:
		if fromCell != "" {
			if err := estate.Vacate(ctx, tx, fromCell); err != nil {
				return "", err
			}
		}
		newLoc.CellID = ""
		summary = "Escaped"
	case Release:
		if fromCell != "" {
			if err := estate.Vacate(ctx, tx, fromCell); err != nil {
				return "", err
			}
		}
		if err := endStay(ctx, tx, c.StayID, cmp.Or(m.Reason, "released")); err != nil {
			return "", err
		}
		if _, err := endBases(ctx, tx, c.ID, "", BasisRemand, BasisSentence); err != nil {
			return "", err
		}
		newLoc.CellID = ""
		stayID = ""
		summary = "Released"
	case StartCommunity:
		kind, err := estate.LocationExists(ctx, tx, m.OfficeID)
		if err != nil || kind != "office" {
			return "", apperr.Field("office_id", "No such probation office.")
		}
		basis, err := s.activeBasis(ctx, tx, c.ID, m.LegalBasisID, BasisCommunity)
		if err != nil {
			return "", err
		}
		if stayID, err = insertStay(ctx, tx, c.ID, "community", basis, m.OfficeID); err != nil {
			return "", err
		}
		newLoc = Location{OfficeID: m.OfficeID}
		names, err := estate.LocationNames(ctx, tx, []string{m.OfficeID})
		if err != nil {
			return "", err
		}
		summary = "Community sentence started at " + names[m.OfficeID]
	case EndCommunity:
		if err := endStay(ctx, tx, c.StayID, cmp.Or(m.Reason, "completed")); err != nil {
			return "", err
		}
		if _, err := endBases(ctx, tx, c.ID, "", BasisCommunity); err != nil {
			return "", err
		}
		stayID = ""
		summary = "Community sentence ended"
	}
	if m.Reason != "" {
		summary += " — " + m.Reason
	}
	if err := writePlace(ctx, tx, c.ID, c.Version, to, newLoc, stayID); err != nil {
		return "", err
	}
	a := actorOf(ctx)
	mv := db.NewID()
	if err := insertMovement(ctx, tx, &Movement{ID: mv, ClientID: c.ID, StayID: cmp.Or(stayID, c.StayID), Action: m.Action, FromStatus: from, ToStatus: to,
		FromCell: fromCell, ToCell: toCell, FromLocation: fromLocation, ToLocation: cmp.Or(newLoc.UnitID, newLoc.InstitutionID, newLoc.OfficeID),
		Reason: m.Reason, By: a.ID}); err != nil {
		return "", err
	}
	if err := insertHistory(ctx, tx, c.ID, string(m.Action), summary, a.ID, a.Name, "movement", mv); err != nil {
		return "", err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Action: "client." + string(m.Action), ClientID: c.ID, ObjectType: "movement", ObjectID: mv,
		Detail: fmt.Sprintf("from=%s to=%s cell=%s", from, to, toCell)}); err != nil {
		return "", err
	}
	return mv, events.Emit(ctx, tx, "client."+eventName[m.Action], c.ID, map[string]any{
		"client_id": c.ID, "movement_id": mv, "from_status": from, "to_status": to, "from_cell": fromCell, "to_cell": toCell,
		"institution_id": newLoc.InstitutionID, "unit_id": newLoc.UnitID, "office_id": newLoc.OfficeID,
	})
}

var eventName = map[Action]string{
	Admit: "admitted", Transfer: "transferred", LeaveOut: "left_on_leave", LeaveReturn: "returned_from_leave", Escape: "escaped",
	EscapeReturn: "returned_after_escape", Release: "released", StartCommunity: "community_started", EndCommunity: "community_ended",
}

// activeBasis finds the legal basis for a new stay: the named one, or the
// newest unended basis of an allowed kind. No basis, no stay.
func (s *Service) activeBasis(ctx context.Context, tx *db.Tx, clientID, want string, kinds ...string) (string, error) {
	bases, err := loadBases(ctx, tx, clientID)
	if err != nil {
		return "", err
	}
	for _, b := range bases {
		if b.Ended || !slices.Contains(kinds, b.Kind) {
			continue
		}
		if want == "" || want == b.ID {
			return b.ID, nil
		}
	}
	if want != "" {
		return "", apperr.Field("legal_basis_id", "This legal basis does not exist, has ended, or is of the wrong kind.")
	}
	return "", &apperr.Error{Code: apperr.Conflict, Message: "Record a legal basis (" + strings.Join(kinds, " or ") + ") before this movement.",
		Fields: []apperr.FieldError{{Field: "legal_basis_id", Message: "No active " + strings.Join(kinds, " or ") + " is recorded."}}}
}

// NewAlert is what setting an alert takes.
type NewAlert struct {
	Kind     string `json:"kind"`
	Note     string `json:"note"`
	StartsAt string `json:"starts_at"` // RFC 3339 or YYYY-MM-DD; empty = now
	EndsAt   string `json:"ends_at"`
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, zone); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, zone)
	return t.UTC(), err
}

var zone = func() *time.Location {
	if z, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		return z
	}
	return time.UTC
}()

// AddAlert sets an alert on the person (it belongs to the person and
// survives re-admission).
func (s *Service) AddAlert(ctx context.Context, clientID string, n NewAlert) (Alert, error) {
	var fe apperr.Fields
	n.Note = strings.TrimSpace(n.Note)
	if !slices.Contains(AlertKinds, n.Kind) {
		fe.Add("kind", "Choose one of: "+strings.Join(AlertKinds, ", ")+".")
	}
	if len(n.Note) > 2000 {
		fe.Add("note", "At most 2000 characters.")
	}
	if n.Kind == "other" && n.Note == "" {
		fe.Add("note", "Describe the alert.")
	}
	start, err := parseWhen(n.StartsAt)
	if err != nil {
		fe.Add("starts_at", "Use a date (YYYY-MM-DD) or date and time.")
	}
	end, err := parseWhen(n.EndsAt)
	if err != nil {
		fe.Add("ends_at", "Use a date (YYYY-MM-DD) or date and time.")
	}
	if !end.IsZero() && !start.IsZero() && !end.After(start) {
		fe.Add("ends_at", "Must be after the start.")
	}
	if err := fe.Err(); err != nil {
		return Alert{}, err
	}
	var al Alert
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		if _, err := liveClient(ctx, tx, clientID); err != nil {
			return err
		}
		if start.IsZero() {
			start = tx.Now
		}
		if !end.IsZero() && !end.After(start) {
			return apperr.Field("ends_at", "Must be after the start.")
		}
		a := actorOf(ctx)
		al = Alert{ID: db.NewID(), Kind: n.Kind, Note: n.Note, StartsAt: start, EndsAt: end, SetBy: a.ID, SetByName: a.Name, Version: 1}
		al.Active = !start.After(tx.Now) && (end.IsZero() || end.After(tx.Now))
		if err := insertAlert(ctx, tx, clientID, &al); err != nil {
			return err
		}
		if err := insertHistory(ctx, tx, clientID, "alert", "Alert set: "+al.Kind, a.ID, a.Name, "alert", al.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "client.alert.add", ClientID: clientID, ObjectType: "alert", ObjectID: al.ID, Detail: "kind=" + al.Kind}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.alert_set", clientID, map[string]any{"client_id": clientID, "alert_id": al.ID, "kind": al.Kind})
	})
	return al, err
}

// EndAlert ends an active alert now.
func (s *Service) EndAlert(ctx context.Context, clientID, alertID string, version int) error {
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		kind, ends, v, err := findAlertState(ctx, tx, clientID, alertID)
		if err != nil {
			return err
		}
		if v != version {
			return apperr.StaleVersion("alert", v)
		}
		if ends != "" && ends <= tx.NowText() {
			return apperr.New(apperr.Conflict, "This alert has already ended.")
		}
		a := actorOf(ctx)
		if err := endAlertRow(ctx, tx, alertID, a.ID, version); err != nil {
			return err
		}
		if err := insertHistory(ctx, tx, clientID, "alert", "Alert ended: "+kind, a.ID, a.Name, "alert", alertID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "client.alert.end", ClientID: clientID, ObjectType: "alert", ObjectID: alertID}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.alert_ended", clientID, map[string]any{"client_id": clientID, "alert_id": alertID, "kind": kind})
	})
}

// Search finds people by name (tolerant of diacritics and typos), ID
// number or client number. Hits in the caller's caseload come with their
// details; hits outside it show only who they are, for a break-glass. Each
// person shown is an audited read.
func (s *Service) Search(ctx context.Context, p *access.Principal, q string, limit int) ([]Summary, error) {
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	hits, err := search.Query(ctx, s.DB, q, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ClientID
	}
	sums, err := summaries(ctx, s.DB, ids, db.FormatTime(s.DB.Now()))
	if err != nil {
		return nil, err
	}
	// The caseload first: people outside it are listed (identity only,
	// with the break-glass way in) only when nobody in it matches, and
	// only what is listed is audited as read.
	inCaseload := false
	for _, h := range hits {
		if sm := sums[h.ClientID]; sm != nil && p.Covers(sm.Location.InstitutionID, sm.Location.UnitID, sm.Location.OfficeID) {
			inCaseload = true
			break
		}
	}
	out := make([]Summary, 0, len(hits))
	entries := make([]audit.Entry, 0, len(hits))
	for _, h := range hits {
		sm := sums[h.ClientID]
		if sm == nil {
			continue
		}
		sm.Score = h.Score
		sm.InCaseload = p.Covers(sm.Location.InstitutionID, sm.Location.UnitID, sm.Location.OfficeID)
		if !sm.InCaseload {
			if inCaseload {
				continue
			}
			sm.Location, sm.Alerts, sm.Status = Location{}, nil, ""
		}
		out = append(out, *sm)
		shown := readDetail(readHit)
		if !sm.InCaseload {
			shown = readDetail(readHitOut)
		}
		entries = append(entries, audit.Entry{Action: "client.search_hit", ClientID: sm.ID, Detail: "listed in search results " + shown})
	}
	if len(out) > 0 {
		if err := s.Audit.RecordRead(ctx, entries...); err != nil {
			return nil, fmt.Errorf("client: audit search: %w", err)
		}
	}
	if err := s.fillLocationNames(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) fillLocationNames(ctx context.Context, list []Summary) error {
	var ids []string
	for _, sm := range list {
		ids = append(ids, sm.Location.InstitutionID, sm.Location.UnitID, sm.Location.CellID, sm.Location.OfficeID)
	}
	return s.DB.ReadOnly(ctx, func(tx *db.Tx) error {
		names, err := estate.LocationNames(ctx, tx, ids)
		if err != nil {
			return err
		}
		for i := range list {
			l := &list[i].Location
			l.InstitutionName, l.UnitName, l.CellLabel, l.OfficeName = names[l.InstitutionID], names[l.UnitID], names[l.CellID], names[l.OfficeID]
		}
		return nil
	})
}
