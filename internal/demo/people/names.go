// SPDX-License-Identifier: AGPL-3.0-or-later

package people

// Name lists. The Nordic lists mix the common names of the generations now
// aged 18–75 with enough å/ä/ö and æ/ø/å that every screen, sort order,
// search and export is exercised with them from the first demo. The other
// origins are smaller and cover the largest immigrant groups in Nordic
// prison populations, written the way Nordic registers usually spell them.

var seMale = []string{
	"Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Jan", "Carl", "Mikael",
	"Hans", "Peter", "Olof", "Gunnar", "Sven", "Fredrik", "Bengt", "Bo", "Daniel", "Göran",
	"Åke", "Alexander", "Magnus", "Stefan", "Mats", "Andreas", "Leif", "Thomas", "Björn", "Ulf",
	"Kjell", "Jonas", "Mattias", "Oskar", "Henrik", "Marcus", "Emil", "Viktor", "Sebastian", "Axel",
	"Filip", "Anton", "Gustav", "Ludvig", "Hampus", "Linus", "Rasmus", "Joakim", "Jörgen", "Örjan",
	"Tomas", "Håkan", "Roger", "Patrik", "Niklas", "Kristoffer", "Jesper", "Robin", "Simon", "Isak",
	"Elias", "Hugo", "Love", "Måns", "Sören", "Östen", "Torbjörn", "Ragnar", "Stig", "Rune",
	"Göte", "Pär", "Jöns", "Kenneth", "Tobias", "Albin", "Melvin", "Benjamin", "Mårten", "Lennart",
}

var seFemale = []string{
	"Anna", "Eva", "Maria", "Karin", "Kristina", "Lena", "Sara", "Kerstin", "Emma", "Ingrid",
	"Marie", "Malin", "Jenny", "Annika", "Hanna", "Linnéa", "Birgitta", "Elin", "Sofia", "Ida",
	"Johanna", "Åsa", "Märta", "Ebba", "Maja", "Saga", "Tove", "Frida", "Moa", "Wilma",
	"Alva", "Elsa", "Astrid", "Agnes", "Klara", "Julia", "Matilda", "Linda", "Camilla", "Helena",
	"Ulrika", "Susanne", "Therése", "Jessica", "Josefin", "Lovisa", "Signe", "Stina", "Majken", "Gunilla",
	"Margareta", "Britt", "Inger", "Monica", "Ylva", "Solveig", "Ingegärd", "Ann-Sofie", "Selma", "Hedvig",
	"Tyra", "Ellinor", "Sanna", "Pia", "Agneta", "Anneli", "Carina", "Göta", "Gunnel", "Dagmar",
}

var seFamily = []string{
	"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson", "Gustafsson",
	"Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Lindström",
	"Olofsson", "Lindqvist", "Lindgren", "Axelsson", "Berg", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist",
	"Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg", "Wallin", "Engström", "Eklund",
	"Danielsson", "Lundin", "Håkansson", "Björk", "Bergman", "Gunnarsson", "Holm", "Wikström", "Samuelsson", "Isaksson",
	"Fransson", "Bergqvist", "Nyström", "Holmberg", "Arvidsson", "Löfgren", "Söderberg", "Nyberg", "Blomqvist", "Claesson",
	"Nordström", "Mårtensson", "Lundström", "Viklund", "Björklund", "Eliasson", "Pålsson", "Berggren", "Sandström", "Nordin",
	"Ström", "Åberg", "Ekström", "Holmgren", "Sundberg", "Hedlund", "Dahlberg", "Hellström", "Sjögren", "Abrahamsson",
	"Falk", "Öberg", "Andreasson", "Månsson", "Ågren", "Strömberg", "Sundström", "Åström", "Hägglund", "Sjöström",
	"Öhman", "Källström", "Bäckström", "Östlund", "Törnqvist", "Gröndahl", "Lövgren", "Näslund", "Sköld", "Ålund",
}

var noMale = []string{
	"Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas",
	"Hans", "Geir", "Tor", "Morten", "Terje", "Odd", "Erik", "Martin", "Andreas", "Rune",
	"Trond", "Jon", "Anders", "Tore", "Harald", "Espen", "Øyvind", "Stian", "Håkon", "Jørgen",
	"Sondre", "Magnus", "Henrik", "Kristian", "Sindre", "Eirik", "Øystein", "Jørn", "Bård", "Håvard",
	"Ørjan", "Steinar", "Tormod", "Gaute", "Sigurd", "Torbjørn", "Asbjørn", "Audun", "Aksel", "Emil",
	"Jakob", "Filip", "Mathias", "Sander", "Jonas", "Even", "Vegard", "Ståle", "Roar", "Finn",
	"Leif", "Dag", "Jostein", "Nils", "Petter", "Ivar", "Åsmund", "Øivind", "Gunnar", "Frode",
	"Kåre", "Halvor", "Bjørnar", "Sverre", "Tobias", "Eskil", "Ørnulf", "Sølve", "Ådne", "Endre",
}

var noFemale = []string{
	"Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
	"Hilde", "Anna", "Solveig", "Randi", "Marianne", "Ragnhild", "Elisabeth", "Kristin", "Gerd", "Tone",
	"Heidi", "Ingeborg", "Nina", "Silje", "Ida", "Nora", "Emma", "Sara", "Ingvild", "Åse",
	"Sølvi", "Bodil", "Gro", "Grete", "Tove", "Torill", "Unni", "Vigdis", "Åshild", "Synnøve",
	"Sigrid", "Mari", "Maren", "Thea", "Hedda", "Tuva", "Frida", "Live", "Vilde", "Guro",
	"Kjersti", "Mette", "Camilla", "Linn", "Siri", "Aud", "Turid", "Jorunn", "Gunn", "Bente",
	"Wenche", "Målfrid", "Øydis", "Dagny", "Åsne", "Tiril", "Maiken", "Karoline", "Hege", "Trine",
	"Stine", "Åslaug", "Gøril", "Åsta",
}

var noFamily = []string{
	"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen", "Karlsen",
	"Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl",
	"Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand",
	"Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen", "Mathisen", "Lie",
	"Amundsen", "Rasmussen", "Solheim", "Berntsen", "Kristensen", "Lien", "Moe", "Ellingsen", "Holm", "Nygård",
	"Haugland", "Bakke", "Løken", "Sæther", "Næss", "Dæhli", "Øien", "Østby", "Aasen", "Hauge",
	"Myhre", "Tangen", "Brekke", "Ødegård", "Fjeld", "Nordby", "Sletten", "Vik", "Aas", "Sandvik",
	"Stene", "Hovland", "Rønning", "Tveit", "Lunde", "Bråten", "Bjørnstad", "Grønli", "Aune", "Løvås",
	"Rød", "Bø", "Sæbø", "Våge", "Strøm", "Mørk", "Østrem", "Kvåle", "Skjærvø", "Ødegaard",
}

var dkMale = []string{
	"Peter", "Jens", "Michael", "Lars", "Henrik", "Thomas", "Søren", "Jan", "Christian", "Niels",
	"Martin", "Jørgen", "Anders", "Morten", "Jesper", "Hans", "Ole", "Per", "Erik", "Rasmus",
	"Kim", "Mads", "Mikkel", "Bent", "Poul", "Torben", "Steen", "Frederik", "Kenneth", "Allan",
	"Flemming", "Carsten", "Brian", "Kasper", "Jakob", "Jonas", "Mathias", "Emil", "Oliver", "Lucas",
	"Magnus", "Bjørn", "Jørn", "Kåre", "Bo", "Claus", "Finn", "Preben", "Leif", "Svend",
	"René", "Tommy", "Dennis", "Nikolaj", "Simon", "Tobias", "Villads", "Asger", "Aksel", "Holger",
	"Knud", "Gorm", "Ebbe", "Thorkild", "Børge", "Aage", "Bjarne", "Palle", "Helge", "Søren Peter",
	"Jørn Erik", "Tønnes", "Bøje",
}

var dkFemale = []string{
	"Anne", "Kirsten", "Mette", "Hanne", "Helle", "Susanne", "Lene", "Maria", "Marianne", "Inge",
	"Karen", "Lone", "Bente", "Camilla", "Pia", "Louise", "Charlotte", "Tina", "Gitte", "Birgitte",
	"Jette", "Lise", "Sofie", "Ida", "Emma", "Freja", "Julie", "Laura", "Cecilie", "Mathilde",
	"Signe", "Ditte", "Rikke", "Trine", "Stine", "Maja", "Astrid", "Karoline", "Nanna", "Line",
	"Sanne", "Dorthe", "Søs", "Bodil", "Grethe", "Ulla", "Vibeke", "Jytte", "Birthe", "Åse",
	"Tove", "Else", "Ellen", "Gudrun", "Solveig", "Malene", "Josefine", "Frida", "Clara", "Agnes",
	"Alberte", "Olivia", "Nina", "Karina", "Merete", "Hjørdis", "Dagmar", "Ragna", "Sørine", "Bjørg",
}

var dkFamily = []string{
	"Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen",
	"Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen",
	"Knudsen", "Jakobsen", "Jacobsen", "Mikkelsen", "Olesen", "Frederiksen", "Laursen", "Henriksen", "Lund", "Schmidt",
	"Holm", "Kristiansen", "Clausen", "Simonsen", "Svendsen", "Andreasen", "Jepsen", "Iversen", "Østergaard", "Vestergaard",
	"Nørgaard", "Jeppesen", "Mogensen", "Søndergaard", "Kjær", "Dam", "Bach", "Lauridsen", "Kjeldsen", "Bertelsen",
	"Nissen", "Thygesen", "Vinther", "Graversen", "Friis", "Mathiasen", "Brandt", "Winther", "Lassen", "Dahl",
	"Bruun", "Skov", "Juhl", "Koch", "Krogh", "Toft", "Frandsen", "Bødker", "Damgaard", "Lykke",
	"Holst", "Bøgh", "Nørregaard", "Højgaard", "Kjærgaard", "Søgaard", "Ravn", "Bækgaard", "Thøgersen", "Grønbæk",
	"Lønborg", "Høj", "Bæk", "Kjærsgaard", "Nørskov", "Fønss", "Kjærulff", "Sønderby", "Mønsted", "Bøgelund",
}

var fiMale = []string{"Mika", "Jari", "Timo", "Juha", "Kari", "Pekka", "Jukka", "Matti", "Antti", "Janne", "Tuomas", "Ville", "Sami", "Jyrki", "Päivö"}
var fiFemale = []string{"Tiina", "Päivi", "Sari", "Minna", "Johanna", "Satu", "Riikka", "Tuula", "Sirpa", "Mervi"}
var fiFamily = []string{"Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Kärkkäinen"}

var iqMale = []string{"Ahmed", "Mohammed", "Ali", "Hussein", "Omar", "Mustafa", "Yousef", "Hassan", "Khalid", "Ibrahim", "Karim", "Bilal", "Tariq", "Samir", "Ammar", "Haider", "Abbas", "Zaid"}
var iqFemale = []string{"Fatima", "Zainab", "Maryam", "Noor", "Aisha", "Huda", "Rana", "Layla", "Sara", "Amal"}
var iqFamily = []string{"Al-Tamimi", "Hassan", "Jabbar", "Al-Rubaie", "Kadhim", "Abdullah", "Saleh", "Al-Jubouri", "Mahmoud", "Hamid", "Al-Saadi", "Aziz", "Hamad", "Khalaf"}

var syMale = []string{"Mahmoud", "Rami", "Fadi", "Hamza", "Omar", "Mohammed", "Ahmad", "Khaled", "Yasser", "Bashar", "Anas", "Ziad", "Majd", "Samer", "Youssef"}
var syFemale = []string{"Rasha", "Lina", "Hala", "Nour", "Rama", "Dima", "Ghada", "Reem", "Yara", "Aya"}
var syFamily = []string{"Al-Ahmad", "Haddad", "Khalil", "Darwish", "Najjar", "Al-Hassan", "Shami", "Sabbagh", "Al-Masri", "Kassab", "Hamdan", "Al-Khatib", "Sulaiman", "Issa"}

var soMale = []string{"Abdi", "Abdirahman", "Abdullahi", "Mohamed", "Ahmed", "Hassan", "Ali", "Yusuf", "Omar", "Farah", "Ismail", "Mahad", "Liban", "Hamza", "Said", "Abdikarim", "Mukhtar"}
var soFemale = []string{"Hodan", "Fadumo", "Amina", "Sahra", "Ifrah", "Hawa", "Khadra", "Deeqa", "Nasra", "Ayaan"}
var soFamily = []string{"Abdi", "Mohamed", "Hassan", "Farah", "Ali", "Warsame", "Jama", "Osman", "Yusuf", "Aden", "Hersi", "Egal", "Nur", "Dahir", "Guled"}

var plMale = []string{"Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz", "Grzegorz", "Jakub", "Mateusz", "Kamil", "Dawid", "Wojciech", "Sebastian", "Przemysław", "Rafał"}
var plFemale = []string{"Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Joanna", "Magdalena", "Ewa", "Monika", "Dorota", "Beata"}
var plFamily = []string{"Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Wawrzyniak", "Krawczyk"}

var irMale = []string{"Reza", "Mehdi", "Ali", "Hossein", "Amir", "Mohammad", "Saeed", "Dariush", "Babak", "Farhad", "Kaveh", "Arash", "Behzad", "Payam"}
var irFemale = []string{"Maryam", "Shirin", "Leila", "Neda", "Parisa", "Nasrin", "Azadeh", "Zahra", "Mina", "Roya"}
var irFamily = []string{"Ahmadi", "Hosseini", "Karimi", "Rahimi", "Mohammadi", "Rezaei", "Moradi", "Jafari", "Hashemi", "Sadeghi", "Tehrani", "Kazemi", "Ghorbani", "Bagheri"}

var afMale = []string{"Ahmad", "Mohammad", "Hamid", "Naveed", "Rahim", "Farid", "Jawad", "Sayed", "Wahid", "Nasir", "Karim", "Zabiullah", "Mustafa", "Ali Reza", "Hekmatullah"}
var afFemale = []string{"Fatima", "Zahra", "Mariam", "Shabnam", "Farzana", "Parwana", "Laila", "Nazifa", "Marzia", "Sodaba"}
var afFamily = []string{"Ahmadzai", "Popal", "Rahimi", "Safi", "Hakimi", "Noori", "Sultani", "Stanikzai", "Azizi", "Mohammadi", "Haidari", "Wardak", "Amiri", "Sadat"}

var erMale = []string{"Yonas", "Dawit", "Tesfay", "Mehari", "Robel", "Filmon", "Samuel", "Mikael", "Biniam", "Habtom", "Kidane", "Amanuel", "Yohannes", "Semere", "Henok"}
var erFemale = []string{"Helen", "Saba", "Senait", "Lidia", "Selam", "Winta", "Ruta", "Feven", "Mebrat", "Luwam"}
var erFamily = []string{"Tesfamariam", "Ghebremedhin", "Haile", "Kidane", "Tekle", "Berhane", "Woldu", "Gebreyesus", "Habte", "Negash", "Mehari", "Andemariam", "Tesfay", "Ghebrehiwet"}

var roMale = []string{"Ion", "Gheorghe", "Marius", "Florin", "Adrian", "Mihai", "Andrei", "Constantin", "Ionuț", "Cristian", "Vasile", "Daniel", "Alexandru", "Ștefan", "Costel"}
var roFemale = []string{"Maria", "Elena", "Ioana", "Andreea", "Mihaela", "Florentina", "Alina", "Georgiana", "Roxana", "Nicoleta"}
var roFamily = []string{"Popescu", "Ionescu", "Popa", "Constantin", "Stan", "Dumitru", "Stoica", "Munteanu", "Gheorghe", "Rusu", "Matei", "Lungu", "Ciobanu", "Moldovan", "Dragomir", "Bălan", "Țurcanu"}

var ltMale = []string{"Tomas", "Mindaugas", "Darius", "Andrius", "Paulius", "Mantas", "Giedrius", "Vytautas", "Donatas", "Marius", "Justas", "Saulius", "Žygimantas", "Rokas"}
var ltFemale = []string{"Rūta", "Jurgita", "Kristina", "Aistė", "Eglė", "Laura", "Ieva", "Inga", "Rasa", "Vaida"}
var ltFamily = []string{"Kazlauskas", "Jankauskas", "Petrauskas", "Stankevičius", "Vasiliauskas", "Žukauskas", "Butkus", "Paulauskas", "Urbonas", "Kavaliauskas", "Navickas", "Ramanauskas", "Šimkus", "Sakalauskas"}

var baMale = []string{"Amir", "Edin", "Emir", "Adnan", "Mirza", "Dženan", "Haris", "Senad", "Alen", "Armin", "Jasmin", "Kenan", "Nermin", "Elvir"}
var baFemale = []string{"Amra", "Lejla", "Emina", "Selma", "Amela", "Aida", "Merima", "Alma", "Azra", "Sabina"}
var baFamily = []string{"Hodžić", "Hadžić", "Kovačević", "Delić", "Begić", "Mujić", "Husić", "Hasanović", "Šabić", "Omerović", "Mehmedović", "Ćosić", "Alić", "Salihović"}

var rsMale = []string{"Nikola", "Marko", "Stefan", "Nemanja", "Dragan", "Milan", "Goran", "Zoran", "Dejan", "Miloš", "Aleksandar", "Vladimir", "Slobodan", "Đorđe"}
var rsFemale = []string{"Jelena", "Milica", "Ana", "Ivana", "Marija", "Dragana", "Snežana", "Tijana", "Jovana", "Vesna"}
var rsFamily = []string{"Jovanović", "Petrović", "Nikolić", "Marković", "Đorđević", "Stojanović", "Ilić", "Popović", "Stanković", "Pavlović", "Milošević", "Todorović", "Živković", "Kostić"}

var trMale = []string{"Mehmet", "Ahmet", "Mustafa", "Hasan", "Hüseyin", "İbrahim", "Murat", "Emre", "Burak", "Serkan", "Yusuf", "Kemal", "Cem", "Özgür", "Barış"}
var trFemale = []string{"Ayşe", "Fatma", "Emine", "Zeynep", "Elif", "Hatice", "Merve", "Özlem", "Gül", "Şule"}
var trFamily = []string{"Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Polat"}

var maMale = []string{"Youssef", "Mohamed", "Rachid", "Karim", "Mehdi", "Hicham", "Nabil", "Said", "Khalid", "Abdelkader", "Mourad", "Driss", "Anouar"}
var maFemale = []string{"Fatima", "Khadija", "Naima", "Samira", "Nadia", "Houda", "Siham", "Malika", "Latifa", "Meryem"}
var maFamily = []string{"El Amrani", "Benali", "Bouzid", "El Idrissi", "Chakir", "Bennani", "Alaoui", "Amrani", "Tahiri", "El Fassi", "Ouali", "Berrada", "Ziani"}

var pkMale = []string{"Imran", "Asif", "Kashif", "Usman", "Bilal", "Faisal", "Adnan", "Zahid", "Shahid", "Tariq", "Waqas", "Nadeem", "Sohail", "Arslan"}
var pkFemale = []string{"Ayesha", "Sana", "Nadia", "Sadia", "Rabia", "Saima", "Nazia", "Farah", "Hina", "Uzma"}
var pkFamily = []string{"Khan", "Ahmed", "Hussain", "Iqbal", "Butt", "Malik", "Chaudhry", "Raza", "Ali", "Qureshi", "Mirza", "Shah", "Aslam", "Javed"}

// given-name spelling variants seen for the same person across registers,
// used to make aliases realistic.
var variants = map[string][]string{
	"Mohammed":   {"Mohamed", "Muhammad", "Mohammad", "Mohamad"},
	"Mohamed":    {"Mohammed", "Maxamed", "Muhammed"},
	"Mohammad":   {"Mohammed", "Muhammad", "Mohamad"},
	"Ahmed":      {"Ahmad", "Axmed", "Ahmet"},
	"Ahmad":      {"Ahmed", "Achmad"},
	"Yousef":     {"Yusuf", "Youssef", "Josef"},
	"Youssef":    {"Yousef", "Yussef", "Josef"},
	"Yusuf":      {"Yousef", "Yussuf", "Jusuf"},
	"Hussein":    {"Husain", "Hossein", "Husein"},
	"Hossein":    {"Hussein", "Hosein"},
	"Mustafa":    {"Mostafa", "Moustafa"},
	"Omar":       {"Umar", "Omer"},
	"Hassan":     {"Hasan", "Xasan"},
	"Ali":        {"Aly"},
	"Abdirahman": {"Abdulrahman", "Abdurahman"},
	"Abdullahi":  {"Abdullah", "Abdulahi"},
	"Ibrahim":    {"Ebrahim", "Ibraheem"},
	"Khalid":     {"Khaled", "Chalid"},
	"Khaled":     {"Khalid"},
	"Yohannes":   {"Johannes", "Yohanes"},
	"Dawit":      {"David", "Dawid"},
	"Mikael":     {"Michael", "Mikail"},
	"Michael":    {"Mikael", "Michel"},
	"Kristoffer": {"Christoffer", "Kristofer"},
	"Niklas":     {"Nicklas", "Nicolas"},
	"Marcus":     {"Markus"},
	"Tomas":      {"Thomas"},
	"Thomas":     {"Tomas", "Tommy"},
	"Carl":       {"Karl", "Calle"},
	"Karl":       {"Carl", "Kalle"},
	"Erik":       {"Eric", "Eirik"},
	"Fredrik":    {"Frederik", "Fredric"},
	"Henrik":     {"Henric", "Henke"},
	"Peter":      {"Petter", "Pete"},
	"Jakob":      {"Jacob", "Jakub"},
	"Mathias":    {"Mattias", "Matthias"},
	"Mattias":    {"Mathias", "Matias"},
	"Piotr":      {"Peter", "Petr"},
	"Paweł":      {"Pawel", "Paul"},
	"Łukasz":     {"Lukasz", "Lukas"},
	"Michał":     {"Michal", "Michael"},
	"Ionuț":      {"Ionut"},
	"Mehmet":     {"Mehmed", "Muhammet"},
	"Reza":       {"Riza", "Rezza"},
}
