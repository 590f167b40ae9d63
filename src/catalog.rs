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

/// `1234` cents as `$12.34`.
pub fn dollars(cents: u64) -> String {
    let whole = (cents / 100).to_string();
    // Thousands separators: $1,234.50.
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}.{:02}", cents % 100)
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
