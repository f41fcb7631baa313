"""Bahasa Indonesia first, English second: every string of the pages in both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import Request, Response

Lang = Literal["id", "en"]
LANG_COOKIE = "kentongan_lang"

TEXT: dict[str, tuple[str, str]] = {
    "app": ("Kentongan", "Kentongan"),
    "switch": ("English", "Bahasa Indonesia"),
    "lapor_title": ("Lapor kejadian", "Report an incident"),
    "lapor_intro": (
        "Laporan Anda diperiksa petugas sebelum ditindaklanjuti. Dalam keadaan darurat, "
        "hubungi juga 112.",
        "An operator checks your report before acting on it. In an emergency, also call 112.",
    ),
    "type": ("Jenis kejadian", "Type of incident"),
    "description": ("Keterangan singkat", "Short description"),
    "where": ("Lokasi", "Location"),
    "kampung": ("Kampung", "Kampung"),
    "choose_kampung": ("— pilih kampung —", "— choose a kampung —"),
    "use_location": ("Pakai lokasi HP saya", "Use my phone's location"),
    "location_got": ("Lokasi HP terpakai", "Phone location in use"),
    "location_none": ("Lokasi HP tidak tersedia", "Phone location unavailable"),
    "photo": ("Foto (boleh kosong, maks. 5 MB)", "Photo (optional, max 5 MB)"),
    "name": ("Nama (boleh kosong)", "Name (optional)"),
    "phone": ("Nomor HP (boleh kosong)", "Phone number (optional)"),
    "send": ("Kirim laporan", "Send report"),
    "errors_above": ("Periksa isian yang ditandai.", "Check the marked fields."),
    "err_type": ("Pilih jenis kejadian.", "Choose the type of incident."),
    "err_description": (
        "Keterangan paling banyak 1000 huruf.",
        "The description may be at most 1000 characters.",
    ),
    "err_where": (
        "Pilih kampung atau izinkan lokasi HP.",
        "Choose a kampung or allow the phone's location.",
    ),
    "err_kampung": ("Kampung tidak dikenal.", "Unknown kampung."),
    "err_position": ("Lokasi HP tidak valid.", "The phone's location is not valid."),
    "err_name": ("Nama paling banyak 120 huruf.", "The name may be at most 120 characters."),
    "err_phone": (
        "Nomor HP tidak valid; contoh: 0812 3456 7890.",
        "Not a valid phone number; for example: 0812 3456 7890.",
    ),
    "err_photo_type": ("Foto harus JPEG, PNG atau WebP.", "The photo must be JPEG, PNG or WebP."),
    "err_photo_size": ("Foto paling besar 5 MB.", "The photo may be at most 5 MB."),
    "err_photo_unreadable": ("Foto tidak bisa dibaca.", "The photo cannot be read."),
    "err_csrf": (
        "Formulir kedaluwarsa; muat ulang halaman lalu kirim lagi.",
        "The form has expired; reload the page and send again.",
    ),
    "err_rate": (
        "Terlalu banyak laporan dari perangkat ini; coba lagi satu jam lagi.",
        "Too many reports from this device; try again in an hour.",
    ),
    "err_bot": ("Laporan ditolak.", "Report refused."),
    "status_title": ("Status laporan", "Report status"),
    "tracking": ("Kode pelacakan", "Tracking code"),
    "keep_code": (
        "Simpan alamat halaman ini untuk melihat perkembangan laporan.",
        "Keep this page's address to follow your report.",
    ),
    "received": ("Diterima", "Received"),
    "step_new": ("Laporan diterima, menunggu petugas", "Received, waiting for an operator"),
    "step_acknowledged": ("Dilihat petugas", "Seen by an operator"),
    "step_dispatched": ("Petugas menuju lokasi", "Responders on their way"),
    "step_resolved": ("Selesai ditangani", "Resolved"),
    "step_false_alarm": ("Ditutup: bukan kejadian nyata", "Closed: not a real incident"),
    "step_cancelled": ("Dibatalkan", "Cancelled"),
    "updated": ("Pembaruan terakhir", "Last update"),
    "not_found": ("Kode pelacakan tidak dikenal.", "Unknown tracking code."),
    "console": ("Konsol operator", "Operator console"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "username": ("Nama pengguna", "Username"),
    "password": ("Kata sandi", "Password"),
    "err_login": ("Nama pengguna atau kata sandi salah.", "Wrong username or password."),
    "err_role": ("Akun ini tidak boleh memakai konsol.", "This account may not use the console."),
    "board": ("Papan kejadian", "Incident board"),
    "fleet": ("Armada pos", "Fleet"),
    "map": ("Peta", "Map"),
    "area_alarm": ("Alarm area", "Area alarm"),
    "shift_log": ("Serah terima", "Handover"),
    "recap": ("Rekap harian", "Daily recap"),
    "start_shift": ("Mulai shift", "Start shift"),
    "shift_on": ("Shift berjalan: bunyi peringatan aktif", "On shift: audible alert on"),
    "no_open": ("Tidak ada kejadian terbuka.", "No open incidents."),
    "age": ("Umur", "Age"),
    "what": ("Kejadian", "Incident"),
    "place": ("Tempat", "Place"),
    "state": ("Status", "State"),
    "acked_by": ("Ditanggapi oleh", "Acknowledged by"),
    "act": ("Tindakan", "Actions"),
    "acknowledge": ("Tanggapi", "Acknowledge"),
    "dispatch": ("Kirim petugas", "Dispatch"),
    "resolve": ("Selesai", "Resolve"),
    "false_alarm": ("Alarm palsu", "False alarm"),
    "verify": ("Verifikasi", "Verify"),
    "reject": ("Tolak", "Reject"),
    "note": ("Catatan", "Note"),
    "located": ("Posisi diperbarui", "Position updated"),
    "add_note": ("Tambah catatan", "Add note"),
    "confirmed": ("terkonfirmasi", "confirmed"),
    "unverified": ("laporan warga, belum diverifikasi", "resident report, unverified"),
    "unconfirmed": ("belum terkonfirmasi", "not confirmed"),
    "responders": ("Petugas dihubungi", "Responders"),
    "esc_open": ("menunggu jawaban", "waiting for an answer"),
    "esc_done": ("sudah dijawab", "answered"),
    "esc_unanswered": ("tidak ada yang menjawab", "nobody answered"),
    "esc_step": ("tahap", "step"),
    "esc_cc": ("naik ke pusat komando", "escalated to the command centre"),
    "esc_none": ("belum ada yang dihubungi", "nobody paged yet"),
    "page_queued": ("antre", "queued"),
    "page_sent": ("terkirim", "sent"),
    "page_transient": ("gagal, dicoba lagi", "failed, retrying"),
    "page_permanent": ("gagal", "failed"),
    "page_skipped": ("dilewati", "skipped"),
    "page_unconfigured": ("kanal belum diatur", "channel not set up"),
    "page_acked": ("menjawab", "answered"),
    "acked_via": ("Diterima", "Acknowledged"),
    "via": ("lewat", "via"),
    "keys_title": ("Pintasan papan ketik", "Keyboard shortcuts"),
    "keys_hint": ("Tekan ? untuk pintasan", "Press ? for shortcuts"),
    "key_next": ("kejadian berikutnya", "next incident"),
    "key_prev": ("kejadian sebelumnya", "previous incident"),
    "key_ack": ("tanggapi / verifikasi kejadian terpilih", "acknowledge / verify the selected one"),
    "key_open": ("buka rincian", "open its details"),
    "key_help": ("tampilkan / tutup bantuan ini", "show / hide this help"),
    "close": ("Tutup", "Close"),
    "live_off": ("Sambungan langsung terputus; mencoba lagi…", "Live link lost; retrying…"),
    "detail": ("Rincian", "Details"),
    "err_csrf_console": (
        "Token formulir salah; muat ulang halaman.",
        "Wrong form token; reload the page.",
    ),
    "err_conflict": (
        "Langkah itu tidak berlaku lagi: kejadian sudah berubah.",
        "That step no longer applies: the incident has changed.",
    ),
    "guards": ("HP penjaga", "Guards' phones"),
    "events": ("Aktivasi", "Activations"),
    "audit": ("Riwayat", "History"),
    "commands": ("Perintah sirene", "Siren commands"),
    "handover_note": ("Catatan serah terima", "Handover note"),
    "save": ("Simpan", "Save"),
    "when": ("Waktu", "When"),
    "who": ("Oleh", "By"),
    "post": ("Pos", "Post"),
    "online": ("daring", "online"),
    "offline": ("luring", "offline"),
    "last_seen": ("Terakhir terdengar", "Last heard"),
    "outbox": ("Antrean", "Outbox"),
    "power": ("Daya", "Power"),
    "staffed": ("Dijaga", "Staffed"),
    "yes": ("ya", "yes"),
    "no": ("tidak", "no"),
    "area": ("Wilayah", "Area"),
    "whole_district": ("Seluruh kabupaten", "The whole district"),
    "pattern": ("Irama", "Rhythm"),
    "sound_area": ("Bunyikan area…", "Sound the area…"),
    "confirm_title": ("Yakin?", "Are you sure?"),
    "confirm_area": ("Sirene akan berbunyi di pos berikut:", "Sirens will sound at these posts:"),
    "confirm_yes": ("Ya, bunyikan", "Yes, sound them"),
    "cancel": ("Batal", "Cancel"),
    "stop": ("Hentikan", "Stop"),
    "all_clear": ("Aman (all-clear)", "All-clear (aman)"),
    "confirm_end": (
        "Kirim perintah ini ke semua pos di area?",
        "Send this command to every post in the area?",
    ),
    "confirm_send": ("Ya, kirim", "Yes, send"),
    "started": ("Dimulai", "Started"),
    "total": ("Jumlah kejadian", "Incidents"),
    "by_type": ("Menurut jenis", "By type"),
    "by_state": ("Menurut status", "By state"),
    "median_ack": ("Median waktu tanggap", "Median time to acknowledge"),
    "from_residents": ("Dari laporan warga", "From residents' reports"),
    "prev_day": ("Hari sebelumnya", "Previous day"),
    "next_day": ("Hari berikutnya", "Next day"),
    "seconds": ("detik", "seconds"),
    "guard_title": ("HP penjaga", "Guard's phone"),
    "enrol": ("Daftarkan HP penjaga", "Enrol a guard's phone"),
    "guard_name": ("Nama penjaga", "Guard's name"),
    "make_code": ("Buat kode QR", "Make a QR code"),
    "scan_code": (
        "Pindai kode ini dengan HP penjaga (berlaku 15 menit, sekali pakai):",
        "Scan this code with the guard's phone (valid 15 minutes, once):",
    ),
    "revoke": ("Cabut", "Revoke"),
    "revoked": ("dicabut", "revoked"),
    "locked": ("terkunci", "locked"),
    "active": ("aktif", "active"),
    "set_pin": ("Buat PIN (4-8 angka)", "Choose a PIN (4-8 digits)"),
    "repeat_pin": ("Ulangi PIN", "Repeat the PIN"),
    "pin": ("PIN", "PIN"),
    "unlock": ("Buka", "Unlock"),
    "err_pin_format": ("PIN harus 4-8 angka.", "The PIN must be 4-8 digits."),
    "err_pin_repeat": ("PIN tidak sama.", "The PINs differ."),
    "err_pin_wrong": ("PIN salah. Sisa percobaan: {n}.", "Wrong PIN. Attempts left: {n}."),
    "err_pin_locked": (
        "Terlalu banyak PIN salah: HP ini terkunci. Minta operator mendaftarkan ulang.",
        "Too many wrong PINs: this phone is locked. Ask an operator to enrol it again.",
    ),
    "err_code": (
        "Kode pendaftaran tidak berlaku; minta kode baru ke operator.",
        "This enrolment code is not valid; ask an operator for a new one.",
    ),
    "not_enrolled": (
        "HP ini belum terdaftar. Minta operator menunjukkan kode QR pendaftaran.",
        "This phone is not enrolled. Ask an operator to show the enrolment QR code.",
    ),
    "device_revoked": (
        "HP ini sudah dicabut oleh operator.",
        "An operator has revoked this phone.",
    ),
    "hold_panic": ("TAHAN untuk darurat", "HOLD for emergency"),
    "hold_hint": (
        "Tahan tombol 2 detik. Terkirim seketika; lokasi menyusul bila ada.",
        "Hold the button 2 seconds. Sent at once; position follows when known.",
    ),
    "sent": ("Terkirim ke pusat komando", "Sent to the command centre"),
    "sending": ("Mengirim…", "Sending…"),
    "send_failed": ("Gagal mengirim; mencoba lagi…", "Sending failed; retrying…"),
    "position_sent": ("Lokasi terkirim", "Position sent"),
    "guest_title": ("Lapor tamu 24 jam", "Report overnight guests"),
    "guest_intro": (
        "Tamu yang menginap dilaporkan ke Ketua RT dalam 24 jam.",
        "Guests staying overnight are reported to the Ketua RT within 24 hours.",
    ),
    "guest_link": ("Lapor tamu ke Ketua RT", "Report guests to the Ketua RT"),
    "rt": ("Nomor RT", "RT number"),
    "host_name": ("Nama tuan rumah", "Host's name"),
    "guests": ("Jumlah tamu", "Number of guests"),
    "guest_names": ("Nama tamu (boleh kosong)", "Guests' names (optional)"),
    "arrival": ("Tanggal datang", "Arrival date"),
    "departure": ("Tanggal pulang (boleh kosong)", "Departure date (optional)"),
    "err_rt": ("Isi nomor RT, contoh: 003.", "Give the RT number, for example: 003."),
    "err_host": ("Isi nama tuan rumah.", "Give the host's name."),
    "err_guests": ("Jumlah tamu 1 sampai 50.", "Between 1 and 50 guests."),
    "err_date": ("Tanggal tidak valid.", "Not a valid date."),
    "err_guest_names": (
        "Nama tamu paling banyak 500 huruf.",
        "Guests' names may be at most 500 characters.",
    ),
    "guest_sent": (
        "Laporan tamu diterima dan diteruskan ke Ketua RT.",
        "Guest report received and passed to the Ketua RT.",
    ),
    "guest_list": ("Laporan tamu", "Guest reports"),
    "seen": ("Sudah dilihat", "Seen"),
    "mark_seen": ("Tandai dilihat", "Mark seen"),
    "link_to": ("Tautkan laporan ini ke kejadian", "Link this report to the incident"),
    "link": ("Tautkan", "Link"),
    "step_linked": (
        "Digabung dengan kejadian yang sedang ditangani",
        "Joined to an incident being handled",
    ),
    "notices": ("Pemberitahuan ke petugas", "Notifications to responders"),
    "new_report": ("Buat laporan baru", "Make a new report"),
}


def lang_of(request: Request) -> Lang:
    """`?lang=` wins (and is remembered), then the cookie, then Bahasa Indonesia."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if asked == "en" else "id"


def remember(request: Request, response: Response, lang: Lang, *, secure: bool) -> None:
    if request.query_params.get("lang") in ("id", "en"):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure, httponly=True
        )


def translator(lang: Lang) -> Callable[[str], str]:
    i = 0 if lang == "id" else 1

    def t(key: str) -> str:
        return TEXT[key][i]

    return t
