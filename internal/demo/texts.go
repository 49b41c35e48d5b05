// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

// Texts of the demo data, in Swedish as staff in the demo region would
// write them. Offence names follow Brottsbalken and the special penal
// laws; the weights are rough shares of a Swedish prison population.

// seriousOffences are typical of long sentences in closed prisons.
var seriousOffences = []weighted[string]{
	{"Mord", 4}, {"Försök till mord", 4}, {"Dråp", 2}, {"Grov misshandel", 10}, {"Grovt rån", 8}, {"Rån", 6},
	{"Grovt narkotikabrott", 12}, {"Synnerligen grovt narkotikabrott", 4}, {"Grovt vapenbrott", 8},
	{"Synnerligen grovt vapenbrott", 3}, {"Våldtäkt", 4}, {"Grov våldtäkt", 2}, {"Människorov", 2},
	{"Grov utpressning", 3}, {"Grov kvinnofridskränkning", 4}, {"Mordbrand", 1}, {"Allmänfarlig ödeläggelse", 1},
	{"Grovt penningtvättsbrott", 3}, {"Grovt bedrägeri", 3}, {"Övergrepp i rättssak", 2}, {"Grovt olaga hot", 3},
}

// gravestOffences head the long sentences (six years or more).
var gravestOffences = []weighted[string]{
	{"Mord", 10}, {"Försök till mord", 6}, {"Dråp", 3}, {"Synnerligen grovt narkotikabrott", 8}, {"Grovt rån", 5},
	{"Människorov", 3}, {"Grov våldtäkt", 3}, {"Synnerligen grovt vapenbrott", 3}, {"Allmänfarlig ödeläggelse", 1},
	{"Grov människohandel", 1}, {"Terroristbrott", 1},
}

// commonOffences are the everyday offences of shorter sentences.
var commonOffences = []weighted[string]{
	{"Misshandel", 12}, {"Olaga hot", 10}, {"Narkotikabrott", 12}, {"Stöld", 10}, {"Grov stöld", 5},
	{"Inbrottsstöld", 4}, {"Bedrägeri", 6}, {"Häleri", 3}, {"Grovt rattfylleri", 6}, {"Olovlig körning, grovt brott", 5},
	{"Skadegörelse", 4}, {"Våld mot tjänsteman", 4}, {"Ofredande", 3}, {"Vapenbrott", 4}, {"Penningtvättsbrott", 2},
	{"Kränkande fotografering", 1}, {"Kontaktförbud, överträdelse", 3}, {"Skattebrott", 1}, {"Trolöshet mot huvudman", 1},
}

// minorOffences are typical of community sentences.
var minorOffences = []weighted[string]{
	{"Ringa narkotikabrott", 10}, {"Narkotikabrott", 8}, {"Stöld", 10}, {"Snatteri", 4}, {"Misshandel", 8},
	{"Olaga hot", 6}, {"Rattfylleri", 8}, {"Olovlig körning", 8}, {"Bedrägeri", 5}, {"Skadegörelse", 4},
	{"Ofredande", 4}, {"Häleri", 3}, {"Olaga intrång", 2}, {"Tillgrepp av fortskaffningsmedel", 3},
}

var districtCourts = []string{
	"Attunda tingsrätt", "Solna tingsrätt", "Stockholms tingsrätt", "Södertörns tingsrätt", "Örebro tingsrätt",
	"Växjö tingsrätt", "Göteborgs tingsrätt", "Uddevalla tingsrätt", "Västmanlands tingsrätt", "Uppsala tingsrätt",
}

var appealCourts = []string{"Svea hovrätt", "Göta hovrätt", "Hovrätten för Västra Sverige", "Hovrätten över Skåne och Blekinge"}

// communityKinds are the Swedish community sanctions; days is the usual
// length of the supervision.
var communityKinds = []struct {
	name string
	days []int
	w    int
}{
	{"Skyddstillsyn", []int{1095}, 30},
	{"Skyddstillsyn med föreskrift om missbruksbehandling", []int{1095}, 12},
	{"Skyddstillsyn med samhällstjänst", []int{1095}, 10},
	{"Villkorlig dom med samhällstjänst", []int{730}, 25},
	{"Villkorlig dom med kontraktsvård", []int{730}, 6},
	{"Intensivövervakning med elektronisk kontroll (fotboja)", []int{30, 60, 90, 120, 180}, 12},
	{"Ungdomstjänst", []int{180, 365}, 5},
}

var releaseReasons = []weighted[string]{{"Villkorlig frigivning", 70}, {"Straffet avtjänat", 20}, {"Utvisad efter avtjänat straff", 5}, {"Nådeansökan beviljad", 1}}

var remandReleaseReasons = []weighted[string]{{"Häktningen hävd", 50}, {"Frikänd i tingsrätten", 25}, {"Dömd till frivårdspåföljd", 25}}

// alertTexts are notes per alert kind; %s in a co_accused note is the
// other person's client number, %c the case reference.
var alertTexts = map[string][]string{
	"violence": {
		"Hot mot personal vid visitation. Två personal vid förflyttning.",
		"Misshandlade medintagen på tidigare avdelning.",
		"Utåtagerande vid påverkan; tidigare knivinnehav.",
		"Våldsamt motstånd vid gripandet enligt polisens anmälan.",
		"Kastade stol mot personal under samtal. Samtal med dörren öppen och två personal.",
	},
	"self_harm": {
		"Tidigare självskadebeteende (skärskador). Inga vassa föremål i cellen.",
		"Självskada vid förra vistelsen; kontakt med psykiatrin finns.",
		"Sväljer föremål vid stark ångest — tillsyn vid oro.",
	},
	"suicide_watch": {
		"Suicidrisk bedömd vid intagningen — tillsyn var 15:e minut.",
		"Uttalade suicidtankar efter dom. Tillsyn varje halvtimme tills psykolog bedömt.",
	},
	"escape": {
		"Avvek från permission tidigare; ingen frigång utan beslut.",
		"Rymde från transport. Fängsel vid alla transporter.",
		"Uppgifter om planerad fritagning — förhöjd bevakning vid förflyttning.",
	},
	"medical": {
		"Diabetes typ 1 — insulin morgon och kväll, blodsocker före måltid.",
		"Epilepsi; anfallsmedicin finns hos sjukvården.",
		"Jordnötsallergi med anafylaxi — adrenalinpenna ska följa med vid transport.",
		"Astma — inhalator ska finnas i cellen.",
		"Hjärtsvikt; inga tunga lyft, ska inte placeras i sovsal.",
		"Rullstolsburen — anpassad cell och transport med lift.",
		"Substitutionsbehandling (buprenorfin) — dos delas ut av sjukvården varje morgon.",
	},
	"co_accused": {
		"Medmisstänkt i mål %c: %s — får inte placeras på samma avdelning eller ha kontakt.",
	},
	"other": {
		"Vittne i pågående mål — bör placeras på stödavdelning.",
		"Uppgifter om hot från kriminellt nätverk — ska inte placeras med dess medlemmar.",
		"Besöksförbud för en namngiven anhörig, se beslut i akten.",
	},
}

var alertKinds = []weighted[string]{
	{"violence", 30}, {"self_harm", 12}, {"suicide_watch", 5}, {"escape", 10}, {"medical", 25}, {"other", 6},
}

var languageNames = map[string]string{
	"ar": "arabiska", "so": "somaliska", "fa": "persiska/dari", "ti": "tigrinja", "pl": "polska", "ro": "rumänska",
	"lt": "litauiska", "bs": "bosniska", "sr": "serbiska", "tr": "turkiska", "ur": "urdu", "fi": "finska",
}

var transferReasons = map[string][]string{
	"placement":   {"Placering efter intagning", "Placering efter mottagningsutredning", "Placering enligt placeringsbeslut"},
	"sentenced":   {"Förflyttning efter lagakraftvunnen dom", "Placering i anstalt efter dom"},
	"progression": {"Förflyttning till lägre säkerhetsklass (progression)", "Placering i öppen anstalt enligt verkställighetsplan"},
	"segregation": {"Avskild — hot mot personal", "Avskild efter bråk på avdelningen", "Avskild för egen säkerhet", "Avskild — misstänkt innehav av narkotika"},
	"restricted":  {"Restriktioner meddelade av åklagare"},
}
