//! The shop's products: a fixed list compiled into the binary.

/// One product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// The URL slug, e.g. `rocket-mug`.
    pub id: &'static str,
    /// The display name.
    pub name: &'static str,
    /// The price in cents.
    pub price_cents: u64,
    /// One or two sentences.
    pub description: &'static str,
}

impl Product {
    /// The product's picture, under `/static/`.
    pub fn image(&self) -> String {
        format!("/static/products/{}.svg", self.id)
    }

    /// The price as people read it.
    pub fn price(&self) -> String {
        dollars(self.price_cents)
    }
}

/// Every product, in the order the shop shows them.
pub const PRODUCTS: &[Product] = &[
    Product {
        id: "rocket-mug",
        name: "Rocket mug",
        price_cents: 1400,
        description:
            "A 350 ml stoneware mug with a small rocket on it. Holds coffee through any launch.",
    },
    Product {
        id: "ferris-plush",
        name: "Ferris plush",
        price_cents: 2400,
        description: "Rust's crab, soft and orange, with claws for holding your cables in check.",
    },
    Product {
        id: "cookie-jar",
        name: "HttpOnly cookie jar",
        price_cents: 1800,
        description: "A glass jar with a lid scripts cannot open. Cookies stay where they belong.",
    },
    Product {
        id: "hourglass",
        name: "Idle-timeout hourglass",
        price_cents: 2200,
        description:
            "Thirty minutes of sand. Turn it over with every request and it never runs out.",
    },
    Product {
        id: "padlock",
        name: "Session padlock",
        price_cents: 1200,
        description: "One key, one request at a time. No lost updates on your bike shed.",
    },
    Product {
        id: "tote-bag",
        name: "Memcache tote",
        price_cents: 1600,
        description: "A canvas tote for everything you want to keep close and evict later.",
    },
    Product {
        id: "sticker-pack",
        name: "Sticker pack",
        price_cents: 500,
        description: "Three die-cut stickers for the laptop: a star, a pair of braces and a smile.",
    },
    Product {
        id: "hoodie",
        name: "No-lost-updates hoodie",
        price_cents: 4500,
        description: "A warm navy hoodie for engineers whose writes always land.",
    },
];

/// The product with this id.
pub fn find(id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

/// `1234` cents as `$12.34`, with thousands separators (`$1,234.50`).
/// Written digit by digit into one string: a cart page shows a dozen
/// prices, and `format!` with a grouping pass made three strings each.
pub fn dollars(cents: u64) -> String {
    // The whole dollars' digits, least significant first.
    let mut digits = [0u8; 20];
    let (mut whole, mut len) = (cents / 100, 0);
    loop {
        digits[len] = b'0' + (whole % 10) as u8;
        len += 1;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    let mut text = String::with_capacity(len + len / 3 + 4);
    text.push('$');
    for place in (0..len).rev() {
        text.push(char::from(digits[place]));
        if place > 0 && place % 3 == 0 {
            text.push(',');
        }
    }
    let rest = (cents % 100) as u8;
    text.push('.');
    text.push(char::from(b'0' + rest / 10));
    text.push(char::from(b'0' + rest % 10));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_unique_and_have_pictures() {
        assert!(PRODUCTS.len() >= 6);
        for (i, p) in PRODUCTS.iter().enumerate() {
            assert!(
                PRODUCTS[i + 1..].iter().all(|q| q.id != p.id),
                "duplicate {}",
                p.id
            );
            assert!(
                p.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{} is a slug",
                p.id
            );
            let file = p.image().trim_start_matches("/static/").to_owned();
            assert!(
                crate::assets::ASSETS.iter().any(|(n, _)| *n == file),
                "{} has no image",
                p.id
            );
        }
    }

    #[test]
    fn prices_read_as_dollars() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(1400), "$14.00");
        assert_eq!(dollars(123_456_789), "$1,234,567.89");
    }
}
