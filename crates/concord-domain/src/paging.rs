//! Page requests and pages of results, shared by every list.

use serde::Serialize;

pub const DEFAULT_PER_PAGE: u32 = 25;
pub const MAX_PER_PAGE: u32 = 100;

/// A validated page request: `page` from 1, `per_page` from 1 to [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    /// Builds a page request, naming `page` or `per_page` when out of range.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Self, crate::ValidationErrors> {
        let mut errors = crate::ValidationErrors::new();
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            errors.add("page", "out_of_range", "must be 1 or more");
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            errors.add(
                "per_page",
                "out_of_range",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            );
        }
        errors.into_result(Self { page, per_page })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

/// One page of a list, with what a client needs to fetch the next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> u64 {
        if self.total == 0 {
            1
        } else {
            self.total.div_ceil(u64::from(self.per_page))
        }
    }

    pub fn has_next(&self) -> bool {
        u64::from(self.page) < self.total_pages()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            PageRequest::new(None, None).unwrap(),
            PageRequest::default()
        );
        let e = PageRequest::new(Some(0), Some(101)).unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["page", "per_page"]);
        assert_eq!(PageRequest::new(Some(3), Some(10)).unwrap().offset(), 20);
    }

    #[test]
    fn total_pages() {
        let p = Page::<u8> {
            items: vec![],
            page: 1,
            per_page: 25,
            total: 51,
        };
        assert_eq!(p.total_pages(), 3);
        assert!(p.has_next());
    }
}
