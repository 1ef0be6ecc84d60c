//! Message templates: campaigns with slots that spammers vary (a name, an amount, a link,
//! a phone number), and the transactional messages brandnames send (OTPs, notices, ads).

use chanrac_core::Category;

use crate::rng::Rng;

/// Campaign templates, in Vietnamese (with and without diacritics) and English. Slots:
/// `{name}`, `{amount}`, `{link}`, `{phone}`.
pub const CAMPAIGNS: &[(&str, Category)] = &[
    (
        "Chúc mừng {name} đã trúng thưởng {amount} từ chương trình tri ân khách hàng. Nhận thưởng tại {link} trước 17h hôm nay.",
        Category::Scam,
    ),
    (
        "[TB] Ho so vay {amount} cua {name} da duoc duyet, lai suat 0%, giai ngan trong 5 phut. Lien he {phone} de nhan tien.",
        Category::Spam,
    ),
    (
        "Tài khoản của {name} sẽ bị khoá trong 24h do chưa cập nhật sinh trắc học. Cập nhật ngay tại {link}",
        Category::Scam,
    ),
    (
        "Chao {name}, ben em ho tro vay tien mat {amount} chi can CCCD, khong the chap, nhan tien trong ngay. Zalo {phone}",
        Category::Spam,
    ),
    (
        "Cuc Thue thong bao: {name} co khoan hoan thue {amount}. Vui long xac nhan thong tin tai {link} de nhan tien.",
        Category::Scam,
    ),
    (
        "Viec lam them tai nha cho {name}: like san pham tren mang, thu nhap {amount}/ngay. Lien he {phone} de duoc huong dan",
        Category::Spam,
    ),
    (
        "Your parcel for {name} could not be delivered. Pay the {amount} redelivery fee at {link} within 24 hours.",
        Category::Scam,
    ),
    (
        "Dear {name}, your account has been selected for a {amount} cash reward. Claim it now at {link} or call {phone}.",
        Category::Scam,
    ),
    (
        "Nha cai uy tin so 1 chau A, tang ngay {amount} cho thanh vien moi {name}. Dang ky tai {link}",
        Category::Spam,
    ),
    (
        "{name} oi, sim so dep duoi 6868, 3979 gia chi tu {amount}, giao sim tan noi mien phi. Goi {phone}",
        Category::Spam,
    ),
    (
        "EVN thong bao: so tien dien cua {name} chua thanh toan {amount}, se bi cat dien trong hom nay. Thanh toan tai {link}",
        Category::Scam,
    ),
    (
        "Bạn {name} ơi, mình bên trung tâm tiếng Anh, tặng bạn khoá học trị giá {amount}, đăng ký tại {link} hoặc gọi {phone}",
        Category::Spam,
    ),
];

/// Given names for the `{name}` slot.
pub const NAMES: &[&str] = &[
    "anh Minh",
    "chị Lan",
    "anh Hùng",
    "chi Huong",
    "ban Tuan",
    "anh Nam",
    "chị Mai",
    "Nguyen Van Binh",
    "Trần Thị Thu",
    "Le Quoc Anh",
    "Pham Duc Long",
    "chi Ngoc",
    "anh Khoa",
    "Hoang Yen",
    "Vu Thanh Son",
    "John",
    "Mary",
    "quy khach",
];

const AMOUNTS: &[&str] = &[
    "5.000.000đ",
    "10 triệu",
    "50tr",
    "2.500.000 VND",
    "300k",
    "1,5 tỷ",
    "20.000.000d",
    "$200",
    "80 trieu",
    "500.000d",
    "1.99 USD",
    "7tr",
];

const TLDS: &[&str] = &[
    "xyz", "top", "icu", "vip", "click", "online", "site", "shop", "cc", "info",
];
const WORDS: &[&str] = &[
    "vn",
    "vcb",
    "tri-an",
    "nhan-thuong",
    "hoan-thue",
    "evn",
    "ho-tro",
    "post",
    "giao-hang",
    "uu-dai",
    "bank",
    "vay",
    "cskh",
    "dichvu",
    "khuyenmai",
];

/// A scammy link.
pub fn link(r: &mut Rng) -> String {
    let a = r.pick(WORDS).copied().unwrap_or("vn");
    let b = r.pick(WORDS).copied().unwrap_or("bank");
    let tld = r.pick(TLDS).copied().unwrap_or("xyz");
    match r.below(4) {
        0 => format!("https://{a}-{b}.{tld}"),
        1 => format!("http://{a}{}.{tld}/{}", r.range(1, 99), r.range(100, 9999)),
        2 => format!("https://bit.ly/{:x}", r.next_u64() & 0xff_ffff),
        _ => format!("{a}-{b}{}.{tld}", r.range(1, 9)),
    }
}

/// A Vietnamese mobile number as people write it.
pub fn phone_text(r: &mut Rng) -> String {
    let prefix = ["09", "08", "03", "07", "05"][r.below(5)];
    let n = r.range(10_000_000, 99_999_999);
    match r.below(3) {
        0 => format!("{prefix}{n}"),
        1 => format!("{prefix}{}.{:03}.{:03}", n / 1_000_000, n / 1000 % 1000, n % 1000),
        _ => format!("{prefix}{} {:03} {:03}", n / 1_000_000, n / 1000 % 1000, n % 1000),
    }
}

/// The slot values of one copy of a template.
#[derive(Debug, Clone)]
pub struct Slots {
    /// `{name}`.
    pub name: String,
    /// `{amount}`.
    pub amount: String,
    /// `{link}`.
    pub link: String,
    /// `{phone}`.
    pub phone: String,
}

impl Slots {
    /// Random slot values.
    pub fn random(r: &mut Rng) -> Slots {
        Slots {
            name: r.pick(NAMES).copied().unwrap_or("ban").to_string(),
            amount: r.pick(AMOUNTS).copied().unwrap_or("5tr").to_string(),
            link: link(r),
            phone: phone_text(r),
        }
    }

    /// Fills a template's slots.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{name}", &self.name)
            .replace("{amount}", &self.amount)
            .replace("{link}", &self.link)
            .replace("{phone}", &self.phone)
    }
}

/// Makes a campaign copy of a real spam text: every run of digits gets random digits (new
/// phone numbers, amounts, codes), and sometimes a greeting with a name goes in front.
pub fn vary_real(text: &str, r: &mut Rng, greet: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    if let Some(name) = greet {
        out.push_str("Chao ");
        out.push_str(name);
        out.push_str(", ");
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            out.push(char::from(b'0' + r.below(10) as u8));
        } else {
            out.push(c);
        }
    }
    out
}

/// Brandnames that send transactional messages and ads.
pub const BRANDS: &[&str] = &[
    "Vietcombank",
    "Techcombank",
    "BIDV",
    "VPBank",
    "MBBank",
    "Viettel",
    "VinaPhone",
    "MobiFone",
    "Shopee",
    "GrabVN",
    "FPTShop",
    "EVNHCMC",
];

/// A one-time-code message of a brand, with a fresh code.
pub fn otp(brand: &str, r: &mut Rng) -> String {
    let code = r.range(100_000, 999_999);
    let minutes = [2, 3, 5][r.below(3)];
    match r.below(4) {
        0 => format!(
            "Ma OTP cua Quy khach la {code}. Ma co hieu luc trong {minutes} phut. {brand} KHONG BAO GIO yeu cau cung cap ma OTP."
        ),
        1 => format!(
            "{code} la ma xac thuc giao dich cua ban tai {brand}. Tuyet doi khong chia se ma nay cho bat ky ai."
        ),
        2 => format!("Your {brand} verification code is {code}. It expires in {minutes} minutes. Do not share it."),
        _ => format!(
            "[{brand}] Ma xac nhan dang nhap: {code}. Neu khong phai ban thuc hien, vui long goi tong dai ngay."
        ),
    }
}

/// A balance or order notice of a brand.
pub fn notice(brand: &str, r: &mut Rng) -> String {
    let acct = r.range(1_000_000_000, 9_999_999_999);
    let amount = r.range(1, 500) * 10_000;
    let balance = r.range(1, 9_000) * 10_000;
    let (h, m) = (r.range(0, 23), r.range(0, 59));
    match r.below(3) {
        0 => format!(
            "TK {acct} +{amount}VND luc {h:02}:{m:02}. SD: {balance}VND. ND: chuyen tien. {brand} cam on Quy khach."
        ),
        1 => format!("{brand}: Don hang #{acct} da duoc giao thanh cong. Cam on ban da mua sam!"),
        _ => format!(
            "{brand} thong bao: hoa don thang nay cua Quy khach la {amount}d, han thanh toan ngay {}. Tran trong.",
            r.range(10, 28)
        ),
    }
}

/// An advertisement sent properly: label, brandname, refusal instructions.
pub fn ad(brand: &str, r: &mut Rng) -> String {
    let pct = [10, 20, 30, 50][r.below(4)];
    let code = ["TC", "HUY", "TUCHOI"][r.below(3)];
    match r.below(3) {
        0 => format!(
            "[QC] {brand}: Giam {pct}% cho don hang tu 200.000d den het thang nay. Tu choi QC soan {code} gui 199."
        ),
        1 => format!(
            "[QC] {brand} tang {pct}GB data khi dang ky goi cuoc thang. Soan DK gui 191. Tu choi QC soan {code} gui 1508."
        ),
        _ => format!(
            "QC {brand}: Uu dai {pct}% phi chuyen tien quoc te trong tuan nay. Chi tiet tai website chinh thuc. Tu choi soan {code} gui 9191."
        ),
    }
}
